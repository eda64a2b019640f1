package io.synod.engine.history;

import io.synod.engine.history.CheckResult.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Checks a lock history for linearizability against {@link LockModel}.
 *
 * <p>Locks on distinct resources are independent objects, so the history is split by resource
 * (P-compositionality: a history is linearizable iff each object's sub-history is) and each part
 * searched alone by {@link WglSearch}. Two things are therefore checked per resource only: the
 * order of fencing tokens (the service promises it across all resources), and an EXPIRE of every
 * resource, which is copied into each resource's part and may be placed at a different point in
 * each. A FALSE is still always a real violation; a TRUE says nothing about cross-resource order.
 *
 * <pre>{@code
 * CheckResult result = new LinearizabilityChecker().check(history);
 * System.out.println(result.summary()); // operations: 20000, linearizable: true
 * }</pre>
 */
public final class LinearizabilityChecker {
  private final Config config;

  /**
   * @param maxStatesVisited per resource, the distinct search states kept before giving up with
   *     UNKNOWN (each costs about 100 bytes of heap plus the set of placed operations)
   * @param strictRefusals a REFUSED acquire is legal only while another session holds a
   *     conflicting mode: right for histories of {@code tryAcquire} alone
   * @param explanationsMax how many failing resources the explanation describes
   */
  public record Config(long maxStatesVisited, boolean strictRefusals, int explanationsMax) {
    public static final long MAX_STATES_VISITED_DEFAULT = 5_000_000;

    public Config {
      if (maxStatesVisited <= 0) {
        throw new IllegalArgumentException(
            "maxStatesVisited: must be positive, was " + maxStatesVisited);
      }
      if (explanationsMax <= 0) {
        throw new IllegalArgumentException(
            "explanationsMax: must be positive, was " + explanationsMax);
      }
    }

    public static Config defaults() {
      return new Config(MAX_STATES_VISITED_DEFAULT, false, 3);
    }

    public Config withMaxStatesVisited(long max) {
      return new Config(max, strictRefusals, explanationsMax);
    }

    public Config withStrictRefusals(boolean strict) {
      return new Config(maxStatesVisited, strict, explanationsMax);
    }
  }

  public LinearizabilityChecker() {
    this(Config.defaults());
  }

  public LinearizabilityChecker(Config config) {
    this.config = config;
  }

  public CheckResult check(History history) {
    return check(history.operations());
  }

  public CheckResult check(List<Operation> operations) {
    long originNanos = operations.stream().mapToLong(Operation::invokeNanos).min().orElse(0);
    LockModel model = new LockModel(config.strictRefusals());
    Map<String, Verdict> perResource = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    List<String> unfinished = new ArrayList<>();
    long states = 0;
    for (Partition partition : Partition.split(operations)) {
      WglSearch.Outcome outcome =
          new WglSearch(partition, model, config.maxStatesVisited(), originNanos).run();
      perResource.put(partition.resource(), outcome.verdict());
      states += outcome.statesVisited();
      switch (outcome.verdict()) {
        case FALSE -> failures.add(outcome.explanation());
        case UNKNOWN -> unfinished.add(outcome.explanation());
        case TRUE -> { }
      }
    }
    failures.addAll(unfinished); // the violations first
    String explanation = failures.stream().limit(config.explanationsMax())
        .collect(Collectors.joining("\n")).strip();
    if (failures.size() > config.explanationsMax()) {
      explanation += "\n(" + (failures.size() - config.explanationsMax()) + " more resources)";
    }
    return new CheckResult(overall(perResource), operations.size(), perResource, states,
        explanation);
  }

  private static Verdict overall(Map<String, Verdict> perResource) {
    if (perResource.containsValue(Verdict.FALSE)) {
      return Verdict.FALSE;
    }
    return perResource.containsValue(Verdict.UNKNOWN) ? Verdict.UNKNOWN : Verdict.TRUE;
  }
}
