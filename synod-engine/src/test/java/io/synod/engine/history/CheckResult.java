package io.synod.engine.history;

import java.util.Map;
import java.util.Objects;

/**
 * The verdict on a history: {@link Verdict#TRUE} only if every resource's operations linearize;
 * {@link Verdict#FALSE} if one resource's cannot (then {@code explanation} names the resource, the
 * longest linearizable prefix and the operations that could not follow it); {@link Verdict#UNKNOWN}
 * if the search hit its bound on some resource and failed on none.
 *
 * @param operations the operations in the history as recorded (an EXPIRE of all resources is one)
 * @param perResource each resource's verdict, by resource name
 * @param statesVisited the distinct (placed operations, model state) pairs searched, summed
 */
public record CheckResult(Verdict linearizable, int operations, Map<String, Verdict> perResource,
    long statesVisited, String explanation) {

  public enum Verdict {
    TRUE,
    FALSE,
    UNKNOWN;

    @Override
    public String toString() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public CheckResult {
    Objects.requireNonNull(linearizable, "linearizable");
    perResource = Map.copyOf(perResource);
    Objects.requireNonNull(explanation, "explanation");
  }

  public boolean isLinearizable() {
    return linearizable == Verdict.TRUE;
  }

  /** {@code operations: N, linearizable: true}: the line a history test prints. */
  public String summary() {
    return "operations: " + operations + ", linearizable: " + linearizable;
  }

  @Override
  public String toString() {
    return explanation.isEmpty() ? summary() : summary() + "\n" + explanation;
  }
}
