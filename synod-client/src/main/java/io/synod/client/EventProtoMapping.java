package io.synod.client;

import io.synod.api.SynodException;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyStep;
import io.synod.api.event.Event;
import io.synod.proto.v1.PublishRequest;
import io.synod.proto.v1.StartChoreographyRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The event bus's and choreographed sagas' Java API types to and from their messages in
 * events.proto. Errors name the field as the wire does: the Java API's {@code steps[1].timeout}
 * is {@code definition.steps[1].timeout_seconds}, its {@code name} {@code definition.name}
 * ({@link #wireField}).
 */
public final class EventProtoMapping {
  private static final Pattern STEP_TIMEOUT = Pattern.compile("^(steps\\[\\d+])\\.timeout$");

  private EventProtoMapping() {}

  // ---- events

  public static PublishRequest toPublish(Event event) {
    return PublishRequest.newBuilder().setType(event.type())
        .setCorrelationId(event.correlationId()).putAllPayload(event.payload()).build();
  }

  /** The event to publish; INVALID_ARGUMENT naming the field if it is not one. */
  public static Event fromPublish(PublishRequest proto) {
    return Event.of(emptyToNull(proto.getType()), emptyToNull(proto.getCorrelationId()),
        proto.getPayloadMap());
  }

  public static io.synod.proto.v1.Event toDelivered(Event event) {
    return io.synod.proto.v1.Event.newBuilder().setOffset(event.offset())
        .setType(event.type()).setCorrelationId(event.correlationId())
        .putAllPayload(event.payload()).setPublishedAtMs(event.publishedAtMs()).build();
  }

  public static Event fromDelivered(io.synod.proto.v1.Event proto) {
    return new Event(proto.getType(), proto.getCorrelationId(), proto.getPayloadMap(),
        proto.getPublishedAtMs(), proto.getOffset());
  }

  // ---- choreographies

  public static StartChoreographyRequest toProto(String correlationId,
      ChoreographyDefinition definition, Map<String, String> payload, boolean wait,
      Duration waitFor) {
    StartChoreographyRequest.Builder proto = StartChoreographyRequest.newBuilder()
        .setCorrelationId(correlationId == null ? "" : correlationId)
        .setDefinition(toProto(definition))
        .setWait(wait);
    if (payload != null) {
      proto.putAllPayload(payload);
    }
    if (waitFor != null) {
      proto.setWaitSeconds(waitFor.toMillis() / 1000.0);
    }
    return proto.build();
  }

  public static io.synod.proto.v1.ChoreographyDefinition toProto(
      ChoreographyDefinition definition) {
    io.synod.proto.v1.ChoreographyDefinition.Builder proto =
        io.synod.proto.v1.ChoreographyDefinition.newBuilder().setName(definition.name());
    for (ChoreographyStep step : definition.steps()) {
      proto.addSteps(io.synod.proto.v1.ChoreographyStep.newBuilder()
          .setName(step.name()).setOn(step.on()).setDone(step.done())
          .setFailed(nullToEmpty(step.failed())).setCompensate(nullToEmpty(step.compensate()))
          .setTimeoutSeconds(step.timeout().toMillis() / 1000.0));
    }
    return proto.build();
  }

  /** The definition; INVALID_ARGUMENT naming the field as the wire does. */
  public static ChoreographyDefinition fromProto(io.synod.proto.v1.ChoreographyDefinition proto) {
    List<ChoreographyStep> steps = new ArrayList<>(proto.getStepsCount());
    for (io.synod.proto.v1.ChoreographyStep step : proto.getStepsList()) {
      steps.add(new ChoreographyStep(emptyToNull(step.getName()), emptyToNull(step.getOn()),
          emptyToNull(step.getDone()), emptyToNull(step.getFailed()),
          emptyToNull(step.getCompensate()), seconds(step.getTimeoutSeconds())));
    }
    try {
      return new ChoreographyDefinition(emptyToNull(proto.getName()), steps);
    } catch (SynodException e) {
      throw onWire(e);
    }
  }

  /** Seconds as a duration: 0 (or less, or not a number) is refused by the definition. */
  public static Duration seconds(double seconds) {
    if (!(seconds > 0)) {
      return Duration.ZERO;
    }
    return Duration.ofMillis(Math.max(1, Math.round(Math.min(seconds, 1e15) * 1000)));
  }

  // ---- field names

  /**
   * The wire's name of a field a {@link ChoreographyDefinition} names: {@code steps[1].timeout}
   * is {@code definition.steps[1].timeout_seconds}, {@code steps[0].on} is {@code
   * definition.steps[0].on}, the saga's {@code name} is {@code definition.name}. Others are kept.
   */
  public static String wireField(String field) {
    if (field == null || !(field.equals("name") || field.equals("steps")
        || field.startsWith("steps["))) {
      return field;
    }
    return "definition." + STEP_TIMEOUT.matcher(field).replaceFirst("$1.timeout_seconds");
  }

  /** {@code e} with its field named as on the wire (see {@link #wireField}). */
  public static SynodException onWire(SynodException e) {
    String field = e.field().orElse(null);
    String wire = wireField(field);
    if (field == null || field.equals(wire)) {
      return e;
    }
    String message = e.getMessage();
    String prefix = field + ": ";
    return new SynodException(e.code(), wire,
        message.startsWith(prefix) ? message.substring(prefix.length()) : message);
  }

  static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
