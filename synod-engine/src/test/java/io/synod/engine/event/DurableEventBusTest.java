package io.synod.engine.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The durable bus on a real single-node log: order, redelivery, and resuming after a restart. */
class DurableEventBusTest {
  /** Small batches and short pauses: several batches and redeliveries in a short test. */
  private static final EventConfig FAST = new EventConfig(Duration.ofMillis(20),
      Duration.ofMillis(20), Duration.ofMillis(100), 4, 10, Duration.ofSeconds(10));

  @TempDir Path dir;

  @Test
  void aGroupGetsItsTypesInOffsetOrderAndAnEventAgainWhenItsHandlerThrew() throws Exception {
    try (SynodNode node = started(config())) {
      DurableEventBus bus = node.eventLog();
      List<Event> seen = new CopyOnWriteArrayList<>();
      AtomicBoolean failedOnce = new AtomicBoolean();
      try (DurableEventBus.Subscription subscription = bus.subscribe("billing", Set.of("a", "b"),
          event -> {
            seen.add(event);
            if (event.type().equals("b") && failedOnce.compareAndSet(false, true)) {
              throw new IllegalStateException("the database blinked");
            }
          })) {
        List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          String type = List.of("a", "b", "other").get(i % 3);
          offsets.add(bus.publish(Event.of(type, "c" + i, Map.of("i", "" + i)))
              .get(10, TimeUnit.SECONDS));
        }
        assertThat(offsets).isSorted().doesNotHaveDuplicates();
        long last = offsets.getLast();
        await(() -> bus.acknowledged("billing") == last, "the group acknowledges everything");

        List<Long> delivered = seen.stream().map(Event::offset).toList();
        long firstB = offsets.get(1);
        assertThat(delivered).as("b at offset %d twice, in place; 'other' never", firstB)
            .containsExactly(offsets.get(0), firstB, firstB, offsets.get(3), offsets.get(4),
                offsets.get(6), offsets.get(7), offsets.get(9));
        assertThat(seen.getFirst().payload()).isEqualTo(Map.of("i", "0"));
        assertThat(seen.getFirst().publishedAtMs()).isPositive();
        assertThat(subscription.consumerGroup()).isEqualTo("billing");

        assertThatThrownBy(() -> bus.subscribe("billing", Set.of("a"), event -> { }))
            .isInstanceOfSatisfying(SynodException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION));
      }
    }
  }

  @Test
  void aRestartedNodeResumesEachGroupAfterItsLastAcknowledgedOffset() throws Exception {
    LogConfig config = config();
    int before = 20;
    int after = 10;
    long stuckAfter = 7;
    List<Long> fastBefore = new CopyOnWriteArrayList<>();
    List<Long> slowBefore = new CopyOnWriteArrayList<>();
    try (SynodNode node = started(config)) {
      DurableEventBus bus = node.eventLog();
      bus.subscribe("fast", Set.of("e"), event -> fastBefore.add(event.offset()));
      bus.subscribe("slow", Set.of("e"), event -> {
        if (event.offset() > stuckAfter) {
          throw new IllegalStateException("slow is stuck at " + event.offset());
        }
        slowBefore.add(event.offset());
      });
      publish(bus, before);
      await(() -> bus.acknowledged("fast") == before && bus.acknowledged("slow") == stuckAfter,
          "fast acknowledges all, slow up to " + stuckAfter);
    } // closing logs each group's position and stops delivery

    List<Long> fastAfter = new CopyOnWriteArrayList<>();
    List<Long> slowAfter = new CopyOnWriteArrayList<>();
    try (SynodNode node = started(config)) {
      DurableEventBus bus = node.eventLog();
      assertThat(bus.acknowledged("fast")).isEqualTo(before);
      assertThat(bus.acknowledged("slow")).isEqualTo(stuckAfter);
      publish(bus, after);
      bus.subscribe("fast", Set.of("e"), event -> fastAfter.add(event.offset()));
      bus.subscribe("slow", Set.of("e"), event -> slowAfter.add(event.offset()));
      long last = before + after;
      await(() -> bus.acknowledged("fast") == last && bus.acknowledged("slow") == last,
          "both groups acknowledge everything after the restart");
    }

    assertThat(fastBefore).containsExactlyElementsOf(range(1, before));
    assertThat(fastAfter).as("fast resumes after its last acknowledgement: nothing again")
        .containsExactlyElementsOf(range(before + 1, before + after));
    assertThat(slowBefore).containsExactlyElementsOf(range(1, stuckAfter));
    assertThat(slowAfter).as("slow resumes after its last acknowledgement, losing nothing")
        .containsExactlyElementsOf(range(stuckAfter + 1, before + after));
  }

  private static void publish(DurableEventBus bus, int count) throws Exception {
    for (int i = 0; i < count; i++) {
      bus.publish(Event.of("e", "c", Map.of())).get(10, TimeUnit.SECONDS);
    }
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  private LogConfig config() {
    return LogConfig.singleNode("events", dir.resolve("log"), LogConfig.freeLoopbackPort());
  }

  private static SynodNode started(LogConfig config) throws Exception {
    return SynodNode.builder(config).eventLog(FAST).start().awaitLeadership(30, TimeUnit.SECONDS);
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what + " within 30 s").isLessThan(deadline);
      Thread.sleep(10);
    }
  }
}
