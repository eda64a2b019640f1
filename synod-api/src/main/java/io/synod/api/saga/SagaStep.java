package io.synod.api.saga;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One step of a saga (spec 000 {@code saga_step_definition}).
 *
 * @param name unique within the saga; lower-case letters, digits, '_' and '-'
 * @param action the forward operation
 * @param compensation undoes the action; null for a step that needs none (a read, a notice)
 * @param dependsOn steps that must have completed first; steps with no dependency between them
 *     run in parallel. Empty means "after the previous step" only when {@link
 *     SagaDefinition#sequential} built the saga; otherwise it means "at the start"
 * @param timeout the longest one try of the action or the compensation may take
 * @param retry how often the action (and the compensation) is tried
 */
public record SagaStep(String name, StepOperation action, StepOperation compensation,
    List<String> dependsOn, Duration timeout, RetryPolicy retry) {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  public SagaStep {
    Objects.requireNonNull(action, "action");
    dependsOn = dependsOn == null ? List.of() : List.copyOf(dependsOn);
    timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    retry = retry == null ? RetryPolicy.DEFAULT : retry;
  }

  /** The key the store records with the action's effect (spec: {@code <saga>_step_<step>}). */
  public String actionKey(String sagaId) {
    return actionKey(sagaId, name);
  }

  /** The key the store records with the compensation's effect ({@code <saga>_comp_<step>}). */
  public String compensationKey(String sagaId) {
    return sagaId + "_comp_" + name;
  }

  /**
   * The action's key of step {@code step} of saga {@code sagaId}, for a store that must find the
   * action's barrier from its compensation (the key-value store fences it by this key).
   */
  public static String actionKey(String sagaId, String step) {
    return sagaId + "_step_" + step;
  }
}
