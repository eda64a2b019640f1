package io.synod.engine.history;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.lock.LockMode;
import io.synod.engine.history.CheckResult.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * The checker against histories a real lock produced ({@link LockSimulator}): every one is
 * linearizable, and one impossible grant added to it makes it not; and against the definition
 * ({@link BruteForceOracle}) on tiny histories of anything at all.
 */
class LinearizabilityPropertiesTest {

  @Property(tries = 300)
  void everyHistoryOfARealLockIsLinearizable(
      @ForAll @IntRange(min = 1, max = 8) int clients,
      @ForAll @IntRange(min = 1, max = 4) int resources,
      @ForAll @IntRange(min = 0, max = 150) int operations,
      @ForAll long seed) {
    List<Operation> history =
        LockSimulator.generate(LockSimulator.Params.of(clients, resources, operations, seed));

    CheckResult result = new LinearizabilityChecker().check(history);

    assertThat(result.linearizable()).as("%s", result).isEqualTo(Verdict.TRUE);
    assertThat(result.operations()).isEqualTo(operations);
  }

  @Property(tries = 200)
  void everyHistoryWithManyUnknownResultsIsLinearizable(
      @ForAll @IntRange(min = 1, max = 6) int clients,
      @ForAll @IntRange(min = 1, max = 2) int resources,
      @ForAll @IntRange(min = 0, max = 100) int operations,
      @ForAll long seed) {
    List<Operation> history = LockSimulator.generate(
        new LockSimulator.Params(clients, resources, operations, 0.5, 0.3, 0.02, true, seed));

    CheckResult result = new LinearizabilityChecker().check(history);

    assertThat(result.linearizable()).as("%s", result).isEqualTo(Verdict.TRUE);
  }

  /** The search with its caches and its rules for unknown results against the definition. */
  @Property(tries = 3000)
  void theSearchAgreesWithBruteForceOnAnyTinyHistory(
      @ForAll("tinyHistories") List<Operation> history, @ForAll boolean strictRefusals) {
    LinearizabilityChecker checker = new LinearizabilityChecker(
        LinearizabilityChecker.Config.defaults().withStrictRefusals(strictRefusals));

    CheckResult result = checker.check(history);

    assertThat(result.isLinearizable()).as("%s", result)
        .isEqualTo(BruteForceOracle.linearizable(history, strictRefusals));
  }

  /** Up to 7 operations by 3 sessions on one resource: any kinds, results, tokens and times. */
  @Provide
  Arbitrary<List<Operation>> tinyHistories() {
    Arbitrary<Operation> op = Combinators.combine(
            Arbitraries.integers().between(0, 9),
            Arbitraries.integers().between(0, 2),
            Arbitraries.of(LockMode.S, LockMode.X),
            Arbitraries.integers().between(0, 9),
            Arbitraries.longs().between(1, 6),
            Arbitraries.longs().between(0, 20),
            Arbitraries.longs().between(0, 8),
            Arbitraries.of(false, true))
        .as((kind, session, mode, result, token, invokeNanos, lengthNanos, flag) ->
            tinyOperation(kind, "s" + session, mode, result, token, invokeNanos,
                invokeNanos + lengthNanos, flag));
    return op.list().ofMinSize(1).ofMaxSize(7);
  }

  private static Operation tinyOperation(int kind, String session, LockMode mode, int result,
      long token, long invokeNanos, long returnNanos, boolean flag) {
    Operation.Result unknownOr = result < 3 ? Operation.Result.UNKNOWN : Operation.Result.OK;
    long unknownReturn = unknownOr == Operation.Result.UNKNOWN && flag ? Operation.NEVER
        : returnNanos;
    if (kind < 5) {
      Operation.Result answer = result < 5 ? new Operation.Granted(token)
          : result < 7 ? Operation.Result.REFUSED : Operation.Result.UNKNOWN;
      long ret = answer == Operation.Result.UNKNOWN && flag ? Operation.NEVER : returnNanos;
      return Operation.acquire(0, "r", session, mode, invokeNanos, ret, answer);
    }
    if (kind < 9) {
      return Operation.release(0, "r", session, invokeNanos, unknownReturn, unknownOr);
    }
    return Operation.expire(0, flag ? null : "r", session, invokeNanos, returnNanos, unknownOr);
  }

  @Property(tries = 200)
  void strictRefusalsHoldForALockThatRefusesOnlyOnConflict(
      @ForAll @IntRange(min = 1, max = 6) int clients,
      @ForAll @IntRange(min = 1, max = 3) int resources,
      @ForAll @IntRange(min = 0, max = 100) int operations,
      @ForAll long seed) {
    List<Operation> history = LockSimulator.generate(
        new LockSimulator.Params(clients, resources, operations, 0.6, 0.03, 0.01, false, seed));
    LinearizabilityChecker strict = new LinearizabilityChecker(
        LinearizabilityChecker.Config.defaults().withStrictRefusals(true));

    assertThat(strict.check(history).linearizable()).isEqualTo(Verdict.TRUE);
  }

  @Property(tries = 200)
  void anExclusiveGrantWhileAnotherSessionHoldsXThroughoutIsCaught(
      @ForAll @IntRange(min = 2, max = 6) int clients,
      @ForAll @IntRange(min = 1, max = 3) int resources,
      @ForAll @IntRange(min = 10, max = 120) int operations,
      @ForAll long seed) {
    List<Operation> history = LockSimulator.generate(
        new LockSimulator.Params(clients, resources, operations, 0.9, 0.03, 0.01, true, seed));
    Optional<Operation> intruder = intruderFor(history);
    Assume.that(intruder.isPresent());
    List<Operation> mutated = new ArrayList<>(history);
    mutated.add(intruder.get());

    CheckResult result = new LinearizabilityChecker().check(mutated);

    assertThat(result.linearizable()).as("%s", result).isEqualTo(Verdict.FALSE);
    assertThat(result.perResource()).containsEntry(intruder.get().resource(), Verdict.FALSE);
    assertThat(result.explanation()).contains("intruder");
  }

  /**
   * An X grant to a new session, called after some session's known X grant returned and returning
   * before anything could have ended that holding: a release or expiry of that session that may
   * take effect after the grant was called.
   */
  static Optional<Operation> intruderFor(List<Operation> history) {
    for (Operation grant : history) {
      if (grant.kind() == Operation.Kind.ACQUIRE && grant.mode() == LockMode.X
          && grant.result() instanceof Operation.Granted g) {
        long from = grant.returnNanos();
        long until = Operation.NEVER;
        for (Operation end : history) {
          if (ends(end, grant) && effectEnd(end) >= grant.invokeNanos()) {
            until = Math.min(until, end.invokeNanos());
          }
        }
        until = until == Operation.NEVER ? from + 1_000 : until; // held to the end
        if (until - from >= 3) {
          return Optional.of(Operation.acquire(99, grant.resource(), "intruder", LockMode.X,
              from + 1, until - 1, new Operation.Granted(g.token() + 1)));
        }
      }
    }
    return Optional.empty();
  }

  private static boolean ends(Operation op, Operation grant) {
    return op.session().equals(grant.session())
        && (op.kind() == Operation.Kind.RELEASE || op.kind() == Operation.Kind.EXPIRE)
        && (op.resource() == null || op.resource().equals(grant.resource()));
  }

  private static long effectEnd(Operation op) {
    return op.indeterminate() ? Operation.NEVER : op.returnNanos();
  }
}
