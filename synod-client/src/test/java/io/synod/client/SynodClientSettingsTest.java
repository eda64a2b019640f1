package io.synod.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.CoordinationEvent;
import io.synod.api.TransactionState;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parts of {@link SynodClient} that need no server: addresses, backoff, event mapping. */
class SynodClientSettingsTest {

  @Test
  void addressesAreHostAndPort() {
    assertThat(Endpoint.HostPort.parse("127.0.0.1:7790"))
        .isEqualTo(new Endpoint.HostPort("127.0.0.1", 7790));
    assertThat(Endpoint.HostPort.parse(" synod-1.internal:80 "))
        .isEqualTo(new Endpoint.HostPort("synod-1.internal", 80));
    assertThat(Endpoint.HostPort.parse("[::1]:7790")).isEqualTo(new Endpoint.HostPort("::1", 7790));
    for (String bad : List.of("", "localhost", ":7790", "localhost:", "localhost:0",
        "localhost:65536", "localhost:http")) {
      assertThatThrownBy(() -> Endpoint.HostPort.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void backoffDoublesWithJitterUpToItsMaximum() {
    Backoff backoff = new Backoff(Duration.ofMillis(50), Duration.ofSeconds(1));
    for (int i = 0; i < 100; i++) {
      assertThat(backoff.millis(1)).isBetween(25L, 50L);
      assertThat(backoff.millis(2)).isBetween(50L, 100L);
      assertThat(backoff.millis(4)).isBetween(200L, 400L);
      assertThat(backoff.millis(6)).isBetween(500L, 1000L);
      assertThat(backoff.millis(1_000)).isBetween(500L, 1000L);
    }
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theBuilderRefusesBadSettings() {
    SynodClient.Builder builder = SynodClient.builder(List.of("127.0.0.1:7790"));
    assertThatThrownBy(() -> builder.callTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.retryFor(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SynodClient.builder(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void eventsRoundTripThroughTheWire() {
    List<CoordinationEvent> events = List.of(
        new CoordinationEvent.Started("c1", io.synod.api.CoordinationType.TWO_PHASE_COMMIT,
            List.of("a", "b"), 17),
        new CoordinationEvent.Completed("c1", true, TransactionState.COMMITTED, 0),
        new CoordinationEvent.Failed("c2", "operations[0].store: unknown", 18),
        new CoordinationEvent.DeadlockDetected("c3", "s1", List.of("s1", "s2"), 19));

    for (CoordinationEvent event : events) {
      assertThat(ProtoMapping.fromProto(ProtoMapping.toProto(event))).contains(event);
    }
    assertThat(ProtoMapping.fromProto(io.synod.proto.v1.CoordinationEvent.newBuilder()
        .setType("SOMETHING_NEWER").build())).isEmpty();
  }
}
