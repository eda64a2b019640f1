package io.synod.kv.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import io.synod.core.kv.Siblings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The store's merge is order-independent: however versions arrive (in any order, in any batches,
 * repeated), a key ends with the same siblings, those {@link Siblings#reconcile} picks from all of
 * them. That is what lets replicas that saw writes in different orders agree.
 */
class VersionStorePropertiesTest {
  private static final List<String> WRITERS = List.of("c1", "c2", "c3");
  private static final AtomicLong KEYS = new AtomicLong();
  private static Path dir;
  private static VersionStore store;

  @BeforeContainer
  static void open() throws IOException {
    dir = Files.createTempDirectory("version-store-properties");
    store = VersionStore.open(dir, false);
  }

  @AfterContainer
  static void close() throws IOException {
    store.close();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Property(tries = 300)
  void foldingVersionsInAnyOrderGivesTheSameSiblings(
      @ForAll("clocks") List<VectorClock> clocks, @ForAll long seed) {
    // One version per clock, as writers never reuse a clock for different content.
    List<Versioned> versions =
        clocks.stream().distinct().map(VersionStorePropertiesTest::versionOf).toList();
    Random random = new Random(seed);
    String keyInOrder = "k" + KEYS.incrementAndGet();
    String keyShuffled = "k" + KEYS.incrementAndGet();

    for (Versioned v : versions) {
      store.put("t", keyInOrder, List.of(v));
    }
    List<Versioned> shuffled = new ArrayList<>(versions);
    shuffled.addAll(versions.subList(0, versions.size() / 2)); // some arrive twice
    Collections.shuffle(shuffled, random);
    for (int i = 0; i < shuffled.size(); ) {
      int batch = 1 + random.nextInt(3);
      store.put("t", keyShuffled, shuffled.subList(i, Math.min(shuffled.size(), i + batch)));
      i += batch;
    }

    Set<Versioned> expected = new HashSet<>(Siblings.reconcile(versions));
    assertThat(new HashSet<>(store.get("t", keyInOrder))).isEqualTo(expected);
    assertThat(new HashSet<>(store.get("t", keyShuffled))).isEqualTo(expected);
    assertThat(store.get("t", keyShuffled)).as("stored in tiebreak order")
        .isSortedAccordingTo(Siblings.TIEBREAK);
  }

  @Provide
  Arbitrary<List<VectorClock>> clocks() {
    Arbitrary<VectorClock> clock = Arbitraries.integers().between(0, 3).list().ofSize(3)
        .filter(counters -> counters.stream().anyMatch(c -> c > 0))
        .map(counters -> {
          Map<String, Long> entries = new LinkedHashMap<>();
          for (int i = 0; i < WRITERS.size(); i++) {
            if (counters.get(i) > 0) {
              entries.put(WRITERS.get(i), (long) counters.get(i));
            }
          }
          return VectorClock.of(entries);
        });
    return clock.list().ofMinSize(1).ofMaxSize(12);
  }

  private static Versioned versionOf(VectorClock clock) {
    String writer = clock.entries().keySet().iterator().next();
    long timestamp = 1_000 + clock.entries().values().stream().mapToLong(Long::longValue).sum();
    boolean tombstone = clock.counter("c3") == 2;
    byte[] value = tombstone ? new byte[0] : clock.toString().getBytes(StandardCharsets.UTF_8);
    return new Versioned(value, clock, timestamp, writer, tombstone);
  }
}
