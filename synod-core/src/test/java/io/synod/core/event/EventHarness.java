package io.synod.core.event;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.Event;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * An event state machine with a fake clock that checks, after every command, every invariant and
 * that the command and its effects survive the codec.
 */
final class EventHarness {
  /** inventory, payment, shipping: each service asked by one event and answering with two. */
  static final ChoreographyDefinition ORDER = ChoreographyDefinition.builder("order")
      .step("inventory", "inventory.reserve", "inventory.reserved", "inventory.unavailable",
          "inventory.release", Duration.ofSeconds(5))
      .step("payment", "payment.charge", "payment.charged", "payment.declined",
          "payment.refund", Duration.ofSeconds(5))
      .step("shipping", "shipping.ship", "shipping.shipped", null, "shipping.cancel",
          Duration.ofSeconds(2))
      .build();

  final EventStateMachine machine;
  long nowMs = 1_000;

  EventHarness() {
    this(EventStateMachine.Limits.DEFAULTS);
  }

  EventHarness(EventStateMachine.Limits limits) {
    this.machine = new EventStateMachine(limits);
  }

  List<EventEffect> apply(EventCommand command) {
    assertThat(roundTrip(command)).isEqualTo(command);
    List<EventEffect> effects = machine.apply(command);
    machine.checkInvariants();
    for (EventEffect effect : effects) {
      assertThat(roundTrip(effect)).isEqualTo(effect);
    }
    return effects;
  }

  List<EventEffect> publish(String type, String correlationId, Map<String, String> payload) {
    return apply(new EventCommand.Publish(type, correlationId, payload, nowMs));
  }

  List<EventEffect> publish(String type, String correlationId) {
    return publish(type, correlationId, Map.of());
  }

  List<EventEffect> start(String correlationId, ChoreographyDefinition definition) {
    return apply(new EventCommand.Start(correlationId, definition, Map.of("order", "o-1"),
        nowMs));
  }

  List<EventEffect> timeOut(String correlationId, String step) {
    return apply(new EventCommand.TimeOut(correlationId, step, nowMs));
  }

  List<EventEffect> acknowledge(String group, long offset) {
    return apply(new EventCommand.Acknowledge(group, offset, nowMs));
  }

  /** The events the effects say were appended, in order. */
  static List<Event> published(List<EventEffect> effects) {
    return effects.stream().filter(EventEffect.Published.class::isInstance)
        .map(e -> ((EventEffect.Published) e).event()).toList();
  }

  static List<String> types(List<EventEffect> effects) {
    return published(effects).stream().map(Event::type).toList();
  }

  byte[] snapshot() {
    return bytes(machine::writeSnapshot);
  }

  static EventCommand roundTrip(EventCommand command) {
    return read(bytes(out -> EventCodec.writeCommand(out, command)), EventCodec::readCommand);
  }

  static EventEffect roundTrip(EventEffect effect) {
    return read(bytes(out -> EventCodec.writeEffect(out, effect)), EventCodec::readEffect);
  }

  interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  static byte[] bytes(Writer writer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writer.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static <T> T read(byte[] bytes, Reader<T> reader) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      T value = reader.read(in);
      assertThat(in.read()).as("bytes left after reading").isEqualTo(-1);
      return value;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
