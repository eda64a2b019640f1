package io.synod.api.saga;

import io.synod.api.SynodException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A saga: named steps, each with its action and compensation. Steps run as soon as the steps
 * they depend on have completed, so independent steps run in parallel; a dependency must name
 * an earlier step, which rules out cycles by construction. Validated here, naming the field.
 */
public record SagaDefinition(String name, List<SagaStep> steps) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
  public static final int STEPS_MAX = 100;

  public SagaDefinition {
    if (name == null || !NAME.matcher(name).matches()) {
      throw SynodException.invalid("name", "must be 1 to 63 lower-case letters, digits, '_' or"
          + " '-', starting with a letter or digit; got '" + name + "'");
    }
    if (steps == null || steps.isEmpty() || steps.size() > STEPS_MAX) {
      throw SynodException.invalid("steps", "must hold 1 to " + STEPS_MAX + " steps; got "
          + (steps == null ? 0 : steps.size()));
    }
    steps = List.copyOf(steps);
    Set<String> earlier = new HashSet<>();
    for (int i = 0; i < steps.size(); i++) {
      SagaStep step = steps.get(i);
      String field = "steps[" + i + "]";
      if (step.name() == null || !NAME.matcher(step.name()).matches()) {
        throw SynodException.invalid(field + ".name", "must be 1 to 63 lower-case letters,"
            + " digits, '_' or '-'; got '" + step.name() + "'");
      }
      for (int d = 0; d < step.dependsOn().size(); d++) {
        if (!earlier.contains(step.dependsOn().get(d))) {
          throw SynodException.invalid(field + ".depends_on[" + d + "]", "must name an earlier"
              + " step; got '" + step.dependsOn().get(d) + "'");
        }
      }
      if (!earlier.add(step.name())) {
        throw SynodException.invalid(field + ".name", "'" + step.name() + "' is used twice");
      }
      positive(field + ".timeout", step.timeout());
      checkKvBarrier(field, step);
    }
  }

  /**
   * A key-value step keeps its barrier in the key-value store under the action's idempotency
   * key, which its compensation fences there: so a kv action's compensation must be a kv
   * operation on the same store and tenant, and a kv compensation needs a kv action. (A
   * compensation elsewhere would find no barrier of the action and skip itself.)
   */
  private static void checkKvBarrier(String field, SagaStep step) {
    StepOperation.Kv action = step.action() instanceof StepOperation.Kv kv ? kv : null;
    StepOperation compensation = step.compensation();
    if (compensation == null) {
      return;
    }
    if (action == null) {
      if (compensation instanceof StepOperation.Kv) {
        throw SynodException.invalid(field + ".compensation.store", "a kv compensation needs a"
            + " kv action on the same store and tenant: it finds the action's barrier there");
      }
      return;
    }
    if (!(compensation instanceof StepOperation.Kv kv)
        || !kv.store().equals(action.store())) {
      throw SynodException.invalid(field + ".compensation.store", "must be the action's"
          + " key-value store '" + action.store() + "': the compensation finds the action's"
          + " barrier there; got '" + compensation.store() + "'");
    }
    if (!kv.tenantId().equals(action.tenantId())) {
      throw SynodException.invalid(field + ".compensation.tenant_id", "must be the action's"
          + " tenant_id '" + action.tenantId() + "': the compensation finds the action's"
          + " barrier in its own tenant; got '" + kv.tenantId() + "'");
    }
  }

  private static void positive(String field, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw SynodException.invalid(field, "must be positive; got " + value);
    }
  }

  /** The step named {@code name}. */
  public SagaStep step(String name) {
    for (SagaStep step : steps) {
      if (step.name().equals(name)) {
        return step;
      }
    }
    throw new IllegalArgumentException("saga " + this.name + " has no step " + name);
  }

  /** Builds a saga whose steps run one after another unless told otherwise. */
  public static Builder sequential(String name) {
    return new Builder(name);
  }

  /** Steps in order; each depends on the one before unless {@link #parallel} said otherwise. */
  public static final class Builder {
    private final String name;
    private final List<SagaStep> steps = new ArrayList<>();

    private Builder(String name) {
      this.name = Objects.requireNonNull(name, "name");
    }

    /** A step after the previous one. */
    public Builder step(String step, StepOperation action, StepOperation compensation) {
      return step(step, action, compensation, RetryPolicy.DEFAULT);
    }

    public Builder step(String step, StepOperation action, StepOperation compensation,
        RetryPolicy retry) {
      List<String> after = steps.isEmpty() ? List.of() : List.of(steps.getLast().name());
      steps.add(new SagaStep(step, action, compensation, after, null, retry));
      return this;
    }

    /** A step after exactly {@code dependsOn} (none: at the start). */
    public Builder parallel(String step, StepOperation action, StepOperation compensation,
        List<String> dependsOn) {
      steps.add(new SagaStep(step, action, compensation, dependsOn, null, null));
      return this;
    }

    /** Any step, as given. */
    public Builder add(SagaStep step) {
      steps.add(step);
      return this;
    }

    public SagaDefinition build() {
      return new SagaDefinition(name, steps);
    }
  }
}
