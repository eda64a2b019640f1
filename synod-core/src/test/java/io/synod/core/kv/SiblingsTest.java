package io.synod.core.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class SiblingsTest {
  private static Versioned v(String value, VectorClock clock, long ts, String writer) {
    return new Versioned(value.getBytes(StandardCharsets.UTF_8), clock, ts, writer, false);
  }

  @Test
  void concurrentVersionsStaySiblingsUntilOneSupersedesBoth() {
    VectorClock base = VectorClock.of(Map.of("c1", 5L));
    Versioned alice = v("Alice", base.increment("c1"), 100, "c1");
    Versioned bob = v("Bob", base.increment("c2"), 90, "c2");
    List<Versioned> siblings = Siblings.add(Siblings.add(List.of(), alice), bob);
    assertThat(siblings).containsExactlyInAnyOrder(alice, bob);
    assertThat(Siblings.winner(siblings)).isEqualTo(alice); // later timestamp

    Versioned repaired = v("Alice", Siblings.mergedClock(siblings), 100, "c1");
    assertThat(Siblings.add(siblings, repaired)).containsExactly(repaired);
    assertThat(Siblings.add(List.of(repaired), alice)).containsExactly(repaired); // stale: ignored
    assertThat(Siblings.covers(List.of(repaired), siblings)).isTrue();
    assertThat(Siblings.covers(List.of(alice), siblings)).isFalse();
  }

  @Test
  void twoWritesUnderOneClockAreBothKeptUntilTheNextWriteSupersedesThem() {
    VectorClock clock = VectorClock.of(Map.of("c1", 6L));
    Versioned a = v("a", clock, 100, "c1");
    Versioned b = v("b", clock, 101, "c1");
    List<Versioned> ab = Siblings.add(List.of(a), b);
    List<Versioned> ba = Siblings.add(List.of(b), a);
    assertThat(ab).containsExactlyInAnyOrder(a, b);
    assertThat(Siblings.reconcile(ab)).isEqualTo(Siblings.reconcile(ba));
    assertThat(Siblings.add(ab, a)).isSameAs(ab); // a retry changes nothing
    assertThat(Siblings.covers(List.of(a), List.of(b))).isFalse(); // repair sends b
    Versioned next = v("c", Siblings.mergedClock(ab).increment("c1"), 102, "c1");
    assertThat(Siblings.add(ab, next)).containsExactly(next);
  }

  @Property
  void foldingInAnyOrderGivesTheSameSiblings(@ForAll("histories") List<Versioned> versions,
      @ForAll long seed) {
    List<Versioned> shuffled = new ArrayList<>(versions);
    Collections.shuffle(shuffled, new Random(seed));
    List<Versioned> a = Siblings.reconcile(versions);
    List<Versioned> b = Siblings.reconcile(shuffled);
    assertThat(b).isEqualTo(a);
    for (Versioned x : a) { // no sibling descends from another
      for (Versioned y : a) {
        if (x != y) {
          assertThat(x.clock().compare(y.clock()))
              .isIn(VectorClock.Order.CONCURRENT, VectorClock.Order.EQUAL);
        }
      }
    }
    assertThat(Siblings.covers(a, versions)).isTrue();
  }

  @Provide
  Arbitrary<List<Versioned>> histories() {
    // One value per clock, as real writes have (a clock names one write).
    return Arbitraries.maps(Arbitraries.of("c1", "c2", "c3"), Arbitraries.longs().between(1, 3))
        .ofMinSize(1).ofMaxSize(3).map(VectorClock::of)
        .list().ofMaxSize(8).uniqueElements()
        .map(clocks -> clocks.stream().map(c -> v(c.toString(), c, 0, "w")).toList());
  }
}
