package io.synod.core.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.SynodException;
import io.synod.api.event.Event;
import io.synod.core.event.EventEffect.Refused.Reason;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bus's part of the event domain: offsets, retention, consumer groups. */
class EventStreamTest {
  private final EventHarness h = new EventHarness();

  @Test
  void publishingAssignsConsecutiveOffsetsFromOneAndTheLeadersTime() {
    List<EventEffect> first = h.publish("a", "c1", Map.of("k", "v"));
    h.nowMs = 2_000;
    List<EventEffect> second = h.publish("b", "c2");

    assertThat(first).containsExactly(new EventEffect.Published(
        new Event("a", "c1", Map.of("k", "v"), 1_000, 1)));
    assertThat(EventHarness.published(second)).singleElement()
        .satisfies(e -> assertThat(e.offset()).isEqualTo(2))
        .satisfies(e -> assertThat(e.publishedAtMs()).isEqualTo(2_000));
    assertThat(h.machine.lastOffset()).isEqualTo(2);
    assertThat(h.machine.after(0, 10)).extracting(Event::type).containsExactly("a", "b");
    assertThat(h.machine.after(1, 10)).extracting(Event::offset).containsExactly(2L);
    assertThat(h.machine.after(0, 1)).extracting(Event::offset).containsExactly(1L);
    assertThat(h.machine.after(2, 10)).isEmpty();
  }

  @Test
  void aGroupsOffsetOnlyGrowsAndCannotPassTheLastEvent() {
    for (int i = 0; i < 5; i++) {
      h.publish("a", "c");
    }
    assertThat(h.machine.acknowledged("g")).isZero();
    assertThat(h.acknowledge("g", 3)).containsExactly(new EventEffect.Acknowledged("g", 3));
    assertThat(h.acknowledge("g", 2)).containsExactly(new EventEffect.Acknowledged("g", 3));
    assertThat(h.acknowledge("g", 6)).singleElement()
        .isInstanceOfSatisfying(EventEffect.Refused.class, r -> {
          assertThat(r.reason()).isEqualTo(Reason.INVALID);
          assertThat(r.message()).contains("beyond the last published offset 5");
        });
    assertThat(h.machine.acknowledged("g")).isEqualTo(3);
    assertThat(h.machine.acknowledged("other")).isZero();
  }

  @Test
  void retentionKeepsTheNewestEventsByCountAndByAge() {
    EventStateMachine.Limits limits = new EventStateMachine.Limits(3, 64L << 20, 10_000, 10,
        60_000, 10, 10, 60_000);
    EventHarness small = new EventHarness(limits);
    for (int i = 0; i < 5; i++) {
      small.publish("a", "c" + i);
    }
    assertThat(small.machine.after(0, 10)).extracting(Event::offset).containsExactly(3L, 4L, 5L);
    assertThat(small.machine.firstRetainedOffset()).isEqualTo(3);

    small.nowMs += 10_001;
    small.publish("b", "late");
    assertThat(small.machine.after(0, 10)).extracting(Event::offset).containsExactly(6L);
  }

  @Test
  void retentionKeepsTheNewestEventsByBytes() {
    EventStateMachine.Limits limits = new EventStateMachine.Limits(1_000, 40_000, 60_000, 10,
        60_000, 10, 10, 60_000);
    EventHarness small = new EventHarness(limits);
    String tenKb = "x".repeat(10_000);
    for (int i = 0; i < 5; i++) {
      small.publish("a", "c", Map.of("v", tenKb));
    }
    assertThat(small.machine.after(0, 10)).extracting(Event::offset)
        .containsExactly(3L, 4L, 5L);
  }

  @Test
  void groupsAreBoundedAndIdleOnesForgotten() {
    EventStateMachine.Limits limits = new EventStateMachine.Limits(10, 64L << 20, 60_000, 2,
        5_000, 10, 10, 60_000);
    EventHarness small = new EventHarness(limits);
    small.publish("a", "c");
    small.acknowledge("g1", 1);
    small.nowMs += 3_000;
    small.acknowledge("g2", 1);
    assertThat(small.acknowledge("g3", 1)).singleElement()
        .isInstanceOfSatisfying(EventEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.LIMIT));

    small.nowMs += 3_000; // g1 idle for 6 s: forgotten; g2 for 3 s: kept
    small.acknowledge("g3", 1);
    assertThat(small.machine.acknowledged("g1")).isZero();
    assertThat(small.machine.acknowledged("g2")).isEqualTo(1);
    assertThat(small.machine.acknowledged("g3")).isEqualTo(1);
  }

  @Test
  void eventsAreCheckedWhereTheyAreBuiltNamingTheField() {
    assertThatThrownBy(() -> Event.of("no spaces", "c", Map.of()))
        .isInstanceOf(SynodException.class).hasMessageContaining("type");
    assertThatThrownBy(() -> Event.of("a", "", Map.of()))
        .isInstanceOf(SynodException.class).hasMessageContaining("correlation_id");
    assertThatThrownBy(() -> Event.of("a", "c", Map.of("big", "x".repeat(Event.PAYLOAD_BYTES_MAX))))
        .isInstanceOf(SynodException.class).hasMessageContaining("payload")
        .hasMessageContaining(String.valueOf(Event.PAYLOAD_BYTES_MAX));
    assertThatThrownBy(() -> new EventCommand.Acknowledge("g", -1, 0))
        .isInstanceOf(SynodException.class).hasMessageContaining("offset");
  }

  @Test
  void aSnapshotGivesBackTheSameBus() {
    for (int i = 0; i < 4; i++) {
      h.publish("a", "c" + i, Map.of("i", String.valueOf(i)));
    }
    h.acknowledge("g", 2);
    byte[] snapshot = h.snapshot();

    EventStateMachine copy = EventHarness.read(snapshot,
        in -> EventStateMachine.readSnapshot(in, EventStateMachine.Limits.DEFAULTS));
    assertThat(EventHarness.bytes(copy::writeSnapshot)).isEqualTo(snapshot);
    assertThat(copy.after(0, 10)).isEqualTo(h.machine.after(0, 10));
    assertThat(copy.acknowledged("g")).isEqualTo(2);
    assertThat(copy.apply(new EventCommand.Publish("b", "c", Map.of(), h.nowMs)))
        .isEqualTo(h.machine.apply(new EventCommand.Publish("b", "c", Map.of(), h.nowMs)));
  }
}
