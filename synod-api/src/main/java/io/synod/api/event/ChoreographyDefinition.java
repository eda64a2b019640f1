package io.synod.api.event;

import io.synod.api.SynodException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A choreographed saga ({@code coordination_type: saga_choreography}): steps in order, each owned
 * by a service that talks to synod only through events on the bus. Validated here, naming the
 * field.
 *
 * <p>Every event type appears once in a definition, so that an answer on the bus names its step
 * without doubt; the one exception is a step whose {@code on} is the previous step's {@code
 * done}, the services chaining themselves.
 */
public record ChoreographyDefinition(String name, List<ChoreographyStep> steps) {
  public static final int STEPS_MAX = 100;
  /** The longest a step may wait for its answer. */
  public static final Duration TIMEOUT_MAX = Duration.ofDays(30);

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  public ChoreographyDefinition {
    if (name == null || !NAME.matcher(name).matches()) {
      throw SynodException.invalid("name", "must be 1 to 63 lower-case letters, digits, '_' or"
          + " '-', starting with a letter or digit; got '" + name + "'");
    }
    if (steps == null || steps.isEmpty() || steps.size() > STEPS_MAX) {
      throw SynodException.invalid("steps", "must hold 1 to " + STEPS_MAX + " steps; got "
          + (steps == null ? 0 : steps.size()));
    }
    steps = List.copyOf(steps);
    Set<String> names = new HashSet<>();
    Set<String> types = new HashSet<>();
    for (int i = 0; i < steps.size(); i++) {
      String field = "steps[" + i + "]";
      ChoreographyStep step = steps.get(i);
      if (step.name() == null || !NAME.matcher(step.name()).matches()) {
        throw SynodException.invalid(field + ".name", "must be 1 to 63 lower-case letters,"
            + " digits, '_' or '-'; got '" + step.name() + "'");
      }
      if (!names.add(step.name())) {
        throw SynodException.invalid(field + ".name", "'" + step.name() + "' is used twice");
      }
      boolean chained = i > 0 && Objects.equals(step.on(), steps.get(i - 1).done());
      if (!chained) {
        distinctType(types, field + ".on", step.on(), true);
      }
      distinctType(types, field + ".done", step.done(), true);
      distinctType(types, field + ".failed", step.failed(), false);
      distinctType(types, field + ".compensate", step.compensate(), false);
      checkTimeout(field + ".timeout", step.timeout());
    }
  }

  private static void distinctType(Set<String> types, String field, String type,
      boolean required) {
    if (type == null && !required) {
      return;
    }
    Event.requireType(field, type);
    if (!types.add(type)) {
      throw SynodException.invalid(field, "'" + type + "' is used twice in the saga: each event"
          + " type names one step's request or answer (only a step's 'on' may repeat the"
          + " previous step's 'done')");
    }
  }

  private static void checkTimeout(String field, Duration timeout) {
    if (timeout == null || timeout.compareTo(Duration.ofMillis(1)) < 0
        || timeout.compareTo(TIMEOUT_MAX) > 0) {
      throw SynodException.invalid(field, "must be between 1 ms and " + TIMEOUT_MAX + "; got "
          + timeout);
    }
  }

  /** Builds a definition step by step. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** Steps in the order they run. */
  public static final class Builder {
    private final String name;
    private final List<ChoreographyStep> steps = new ArrayList<>();

    private Builder(String name) {
      this.name = name;
    }

    public Builder step(String step, String on, String done, String failed, String compensate,
        Duration timeout) {
      steps.add(new ChoreographyStep(step, on, done, failed, compensate, timeout));
      return this;
    }

    public ChoreographyDefinition build() {
      return new ChoreographyDefinition(name, steps);
    }
  }
}
