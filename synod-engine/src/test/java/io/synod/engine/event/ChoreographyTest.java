package io.synod.engine.event;

import static io.synod.engine.event.DurableEventBusTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyStep;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test: a choreographed order saga over three services that are subscribers on the
 * durable bus (inventory, payment, shipping), each answering its request with an event. One run
 * completes; in another shipping never answers, and after its step's timeout synod publishes the
 * compensations, payment's before inventory's, and aborts the saga.
 */
class ChoreographyTest {
  private static final Duration SHIPPING_TIMEOUT = Duration.ofSeconds(1);
  private static final ChoreographyDefinition ORDER = ChoreographyDefinition.builder("order")
      .step("inventory", "inventory.reserve", "inventory.reserved", "inventory.unavailable",
          "inventory.release", Duration.ofSeconds(10))
      .step("payment", "payment.charge", "payment.charged", "payment.declined", "payment.refund",
          Duration.ofSeconds(10))
      .step("shipping", "shipping.ship", "shipping.shipped", null, "shipping.cancel",
          SHIPPING_TIMEOUT)
      .build();

  @TempDir Path dir;
  private SynodNode node;
  private Service inventory;
  private Service payment;
  private Service shipping;

  @BeforeEach
  void servicesSubscribe() throws Exception {
    node = SynodNode.builder(LogConfig.singleNode("choreo", dir.resolve("log"),
        LogConfig.freeLoopbackPort())).start().awaitLeadership(30, TimeUnit.SECONDS);
    inventory = new Service(node.eventLog(), ORDER.steps().get(0), Set.of());
    payment = new Service(node.eventLog(), ORDER.steps().get(1), Set.of());
    shipping = new Service(node.eventLog(), ORDER.steps().get(2), Set.of("order-stuck"));
  }

  @AfterEach
  void close() {
    node.close();
  }

  @Test
  void anOrderWhoseServicesAllAnswerCompletes() throws Exception {
    SagaStatus status = node.choreography()
        .start("order-ok", ORDER, Map.of("sku", "A-1", "qty", "2"))
        .get(30, TimeUnit.SECONDS);

    assertThat(status.sagaId()).isEqualTo("order-ok");
    assertThat(status.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(status.steps()).extracting(StepStatus::state).containsOnly(StepState.SUCCEEDED);
    assertThat(inventory.received("order-ok")).containsExactly("inventory.reserve");
    assertThat(payment.received("order-ok")).containsExactly("payment.charge");
    assertThat(shipping.received("order-ok")).containsExactly("shipping.ship");
    assertThat(payment.events.getFirst().payload()).as("the answer's payload goes on")
        .containsEntry("answered-by", "inventory");
    assertThat(node.choreography().listActive()).isEmpty();
  }

  @Test
  void anOrderWhoseShippingNeverAnswersIsCompensatedAfterTheStepTimeout() throws Exception {
    SagaStatus status = node.choreography()
        .start("order-stuck", ORDER, Map.of("sku", "B-2"))
        .get(30, TimeUnit.SECONDS);

    assertThat(status.state()).isEqualTo(SagaState.ABORTED);
    assertThat(status.error()).contains("step 'shipping' timed out")
        .contains("'shipping.shipped'").contains(SHIPPING_TIMEOUT.toString());
    assertThat(status.steps()).extracting(StepStatus::state).containsOnly(StepState.COMPENSATED);

    await(() -> inventory.received("order-stuck").size() == 2
        && payment.received("order-stuck").size() == 2
        && shipping.received("order-stuck").size() == 2, "every service gets its compensation");
    assertThat(inventory.received("order-stuck"))
        .containsExactly("inventory.reserve", "inventory.release");
    assertThat(payment.received("order-stuck")).containsExactly("payment.charge", "payment.refund");
    assertThat(shipping.received("order-stuck")).as("its effect is unknown: undone too")
        .containsExactly("shipping.ship", "shipping.cancel");

    Event ship = shipping.event("order-stuck", "shipping.ship");
    Event cancel = shipping.event("order-stuck", "shipping.cancel");
    Event refund = payment.event("order-stuck", "payment.refund");
    Event release = inventory.event("order-stuck", "inventory.release");
    assertThat(List.of(cancel.offset(), refund.offset(), release.offset()))
        .as("compensations in reverse step order").isSorted().doesNotHaveDuplicates();
    assertThat(refund.publishedAtMs() - ship.publishedAtMs()).as("not before the step timeout")
        .isGreaterThanOrEqualTo(SHIPPING_TIMEOUT.toMillis());
    assertThat(refund.payload()).as("compensations carry the start's payload")
        .isEqualTo(Map.of("sku", "B-2"));
    assertThat(node.choreography().status("order-stuck")).contains(status);
  }

  /**
   * A service on the bus: its own consumer group, subscribed to its step's request and
   * compensation; it answers a request with {@code done} unless told to stay silent for that
   * correlation id, and records everything it receives.
   */
  static final class Service {
    final List<Event> events = new CopyOnWriteArrayList<>();

    Service(DurableEventBus bus, ChoreographyStep step, Set<String> silentFor) {
      bus.subscribe(step.name(), Set.of(step.on(), step.compensate()), event -> {
        events.add(event);
        if (event.type().equals(step.on()) && !silentFor.contains(event.correlationId())) {
          bus.publish(Event.of(step.done(), event.correlationId(),
              Map.of("answered-by", step.name()))).get(10, TimeUnit.SECONDS);
        }
      });
    }

    List<String> received(String correlationId) {
      return events.stream().filter(e -> e.correlationId().equals(correlationId))
          .map(Event::type).toList();
    }

    Event event(String correlationId, String type) {
      return events.stream().filter(e -> e.correlationId().equals(correlationId)
          && e.type().equals(type)).findFirst().orElseThrow();
    }
  }
}
