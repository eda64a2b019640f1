package io.synod.core.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.kv.VectorClock;
import io.synod.api.kv.VectorClock.Order;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** Spec 004's causality scenarios, on the clock alone. */
class VectorClockTest {
  @Test
  void sequentialWritesThroughOneCoordinatorCount() {
    VectorClock c = VectorClock.EMPTY.increment("c1");
    assertThat(c).hasToString("{c1:1}");
    c = c.increment("c1");
    assertThat(c).hasToString("{c1:2}");
    VectorClock third = c.increment("c1");
    assertThat(third).hasToString("{c1:3}");
    assertThat(third.compare(c)).isEqualTo(Order.AFTER);
    assertThat(c.compare(third)).isEqualTo(Order.BEFORE);
  }

  @Test
  void twoCoordinatorsWritingFromTheSameReadAreConcurrent() {
    VectorClock read = VectorClock.of(Map.of("c1", 5L));
    VectorClock alice = read.increment("c1");
    VectorClock bob = read.increment("c2");
    assertThat(alice).hasToString("{c1:6}");
    assertThat(bob).hasToString("{c1:5, c2:1}");
    assertThat(alice.compare(bob)).isEqualTo(Order.CONCURRENT);
    VectorClock repaired = alice.merge(bob);
    assertThat(repaired.compare(alice)).isEqualTo(Order.AFTER);
    assertThat(repaired.compare(bob)).isEqualTo(Order.AFTER);
  }

  @Test
  void aThirdCoordinatorMergesEverything() {
    VectorClock state = VectorClock.of(Map.of("c1", 10L, "c2", 3L));
    assertThat(state.increment("c3")).hasToString("{c1:10, c2:3, c3:1}");
  }

  @Test
  void countersMustBePositive() {
    assertThatThrownBy(() -> VectorClock.of(Map.of("c1", 0L))).hasMessageContaining("c1");
  }

  @Property
  void compareIsAntisymmetricAndMergeIsAnUpperBound(@ForAll("clocks") VectorClock a,
      @ForAll("clocks") VectorClock b) {
    Order ab = a.compare(b);
    Order ba = b.compare(a);
    switch (ab) {
      case BEFORE -> assertThat(ba).isEqualTo(Order.AFTER);
      case AFTER -> assertThat(ba).isEqualTo(Order.BEFORE);
      default -> assertThat(ba).isEqualTo(ab);
    }
    assertThat(ab == Order.EQUAL).isEqualTo(a.equals(b));
    VectorClock m = a.merge(b);
    assertThat(m.descends(a)).isTrue();
    assertThat(m.descends(b)).isTrue();
    assertThat(m.merge(a)).isEqualTo(m);
  }

  @Provide
  Arbitrary<VectorClock> clocks() {
    return Arbitraries.maps(Arbitraries.of("c1", "c2", "c3"), Arbitraries.longs().between(1, 3))
        .ofMaxSize(3).map(VectorClock::of);
  }
}
