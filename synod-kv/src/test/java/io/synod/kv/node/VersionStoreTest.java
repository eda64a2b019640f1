package io.synod.kv.node;

import static io.synod.kv.node.Versions.clock;
import static io.synod.kv.node.Versions.tombstone;
import static io.synod.kv.node.Versions.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.kv.Versioned;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class VersionStoreTest {
  private static final long NOW = 1_800_000_000_000L;

  @TempDir Path dir;
  private VersionStore store;

  @BeforeEach
  void open() {
    store = VersionStore.open(dir, false);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void putThenGetReturnsTheVersion() {
    Versioned v = value("a", clock("c1", 1), NOW);

    VersionStore.PutOutcome outcome = store.put("t1", "k", List.of(v));

    assertThat(outcome.changed()).isTrue();
    assertThat(outcome.siblings()).containsExactly(v);
    assertThat(store.get("t1", "k")).containsExactly(v);
    assertThat(store.get("t1", "other")).isEmpty();
    assertThat(store.get("t2", "k")).as("tenants are apart").isEmpty();
  }

  @Test
  void concurrentVersionsAreKeptAsSiblingsAndASupersedingOneReplacesThem() {
    Versioned a = value("a", clock("c1", 1), NOW);
    Versioned b = value("b", clock("c2", 1), NOW + 1);
    store.put("t", "k", List.of(a));

    assertThat(store.put("t", "k", List.of(b)).siblings()).containsExactly(a, b);

    Versioned c = value("c", clock("c1", 2, "c2", 1), NOW + 2);
    VersionStore.PutOutcome outcome = store.put("t", "k", List.of(c));
    assertThat(outcome.changed()).isTrue();
    assertThat(outcome.siblings()).containsExactly(c);
    assertThat(store.get("t", "k")).containsExactly(c);
  }

  @Test
  void aStaleOrRepeatedVersionChangesNothing() {
    Versioned newer = value("new", clock("c1", 2), NOW + 1);
    store.put("t", "k", List.of(newer));

    VersionStore.PutOutcome stale = store.put("t", "k", List.of(value("old", clock("c1", 1), NOW)));
    VersionStore.PutOutcome repeated = store.put("t", "k", List.of(newer));

    assertThat(stale.changed()).isFalse();
    assertThat(stale.siblings()).containsExactly(newer);
    assertThat(repeated.changed()).isFalse();
    assertThat(store.get("t", "k")).containsExactly(newer);
  }

  @Test
  void aPutOfSeveralVersionsFoldsEachIn() {
    Versioned a = value("a", clock("c1", 1), NOW);
    Versioned b = value("b", clock("c2", 1), NOW);
    // Same clock, other value: a write that raced a through one coordinator; kept beside it.
    Versioned racedA = value("a0", clock("c1", 1), NOW - 5);

    VersionStore.PutOutcome outcome = store.put("t", "k", List.of(a, b, racedA, a));

    assertThat(outcome.siblings()).containsExactlyInAnyOrder(a, b, racedA);
  }

  @Test
  void concurrentPutsToOneKeyLoseNoSibling() throws Exception {
    int writers = 8;
    int perWriter = 50;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        String writer = "c" + w;
        done.add(pool.submit(() -> {
          for (int i = 1; i <= perWriter; i++) {
            store.put("t", "hot", List.of(value(writer + "-" + i, clock(writer, i), NOW + i)));
          }
        }));
      }
      for (Future<?> f : done) {
        f.get(20, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    // Each writer's last version supersedes its earlier ones and is concurrent with the others'.
    assertThat(store.get("t", "hot")).extracting(v -> v.clock().toString())
        .containsExactlyInAnyOrder("{c0:50}", "{c1:50}", "{c2:50}", "{c3:50}", "{c4:50}",
            "{c5:50}", "{c6:50}", "{c7:50}");
  }

  @Test
  void dropDeletesAKeyOnlyIfItsSiblingsAreUnchanged() {
    Versioned a = value("a", clock("c1", 1), NOW);
    Versioned b = value("b", clock("c2", 1), NOW);
    store.put("t", "same", List.of(a, b));
    store.put("t", "changed", List.of(a));
    List<Versioned> scannedChanged = store.get("t", "changed");
    store.put("t", "changed", List.of(value("a2", clock("c1", 2), NOW + 1)));

    long dropped = store.drop(List.of(
        new KeyEntry("t", "same", List.of(b, a)), // order does not matter
        new KeyEntry("t", "changed", scannedChanged),
        new KeyEntry("t", "absent", List.of(a))));

    assertThat(dropped).isEqualTo(1);
    assertThat(store.get("t", "same")).isEmpty();
    assertThat(store.get("t", "changed")).hasSize(1);
  }

  @Test
  void tombstoneCollectionRespectsTheGraceAndLiveSiblings() {
    Duration grace = Duration.ofHours(24);
    long old = NOW - grace.toMillis() - 1;
    store.put("t", "old", List.of(tombstone(clock("c1", 1), old)));
    store.put("t", "recent", List.of(tombstone(clock("c1", 1), NOW - 1000)));
    store.put("t", "oldWithLiveSibling",
        List.of(tombstone(clock("c1", 1), old), value("v", clock("c2", 1), old)));
    store.put("t", "oldTwoTombstones",
        List.of(tombstone(clock("c1", 1), old), tombstone(clock("c2", 1), old - 5)));
    store.put("t", "live", List.of(value("v", clock("c1", 1), old)));

    long collected = store.collectTombstones(NOW, grace);

    assertThat(collected).isEqualTo(2);
    assertThat(store.get("t", "old")).isEmpty();
    assertThat(store.get("t", "oldTwoTombstones")).isEmpty();
    assertThat(store.get("t", "recent")).hasSize(1);
    assertThat(store.get("t", "oldWithLiveSibling")).hasSize(2);
    assertThat(store.get("t", "live")).hasSize(1);
  }

  @Test
  void scanVisitsKeysInOrderAndPages() {
    Versioned v = value("v", clock("c1", 1), NOW);
    // "a" is a prefix of "ab": all of a's keys come first, whatever they are.
    for (String[] tk : new String[][] {{"ab", "1"}, {"a", "z"}, {"a", "b"}, {"b", "a"},
        {"a", "b0"}}) {
      store.put(tk[0], tk[1], List.of(v));
    }

    List<String> all = new ArrayList<>();
    assertThat(store.scan("", "", 0, e -> all.add(e.tenantId() + "/" + e.key()))).isEqualTo(5);
    assertThat(all).containsExactly("a/b", "a/b0", "a/z", "ab/1", "b/a");

    List<String> paged = new ArrayList<>();
    String afterTenant = "";
    String afterKey = "";
    List<KeyEntry> page = new ArrayList<>();
    do {
      page.clear();
      store.scan(afterTenant, afterKey, 2, page::add);
      for (KeyEntry e : page) {
        paged.add(e.tenantId() + "/" + e.key());
        afterTenant = e.tenantId();
        afterKey = e.key();
        assertThat(e.versions()).containsExactly(v);
      }
    } while (page.size() == 2);
    assertThat(paged).isEqualTo(all);

    List<String> fromTenant = new ArrayList<>();
    store.scan("a", "", 0, e -> fromTenant.add(e.tenantId() + "/" + e.key()));
    assertThat(fromTenant).as("after (a, \"\"): every key of a").isEqualTo(all);
  }

  @Test
  void dataSurvivesCloseAndReopen() {
    Versioned a = value("a", clock("c1", 1), NOW);
    Versioned b = value("b", clock("c2", 1), NOW);
    store.put("t", "k", List.of(a, b));
    store.close();

    store = VersionStore.open(dir, true);

    assertThat(store.get("t", "k")).containsExactlyInAnyOrder(a, b);
    assertThat(store.estimatedKeys()).isEqualTo(1);
  }

  @Test
  void aClosedStoreRefusesCallsInsteadOfCrashing() {
    store.close();

    assertThatThrownBy(() -> store.get("t", "k"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    store.close(); // idempotent
  }

  @Test
  void aSecondOpenOfTheSameDirectoryFailsNamingIt() {
    assertThatThrownBy(() -> VersionStore.open(dir, false))
        .isInstanceOf(VersionStoreException.class)
        .hasMessageContaining(dir.toString());
  }
}
