package io.synod.engine.history;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.engine.history.CheckResult.Verdict;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker on histories the size of the cluster history test's; prints its figures. */
class CheckerThroughputTest {

  @Test
  void twentyThousandOperationsOverFiftyResources() {
    List<Operation> history = LockSimulator.generate(
        new LockSimulator.Params(16, 50, 20_000, 0.6, 0.02, 0.002, true, 42));

    CheckResult result = timed("16 clients, 50 resources", history);

    assertThat(result.linearizable()).isEqualTo(Verdict.TRUE);
    assertThat(result.perResource()).hasSize(50);
  }

  @Test
  void sixteenClientsContendingForOneResource() {
    List<Operation> history = LockSimulator.generate(
        new LockSimulator.Params(16, 1, 2_000, 0.3, 0.02, 0.002, true, 7));

    assertThat(timed("16 clients, 1 resource", history).linearizable()).isEqualTo(Verdict.TRUE);
  }

  @Test
  void aViolationLateInALargeHistoryIsFoundAndExplained() {
    List<Operation> history = new ArrayList<>(LockSimulator.generate(
        new LockSimulator.Params(16, 50, 20_000, 0.9, 0.02, 0.002, true, 43)));
    List<Operation> secondHalf = List.copyOf(history.subList(10_000, 20_000));
    Operation intruder = LinearizabilityPropertiesTest.intruderFor(secondHalf).orElseThrow();
    history.add(intruder);

    CheckResult result = timed("16 clients, 50 resources, one bad grant", history);

    assertThat(result.linearizable()).isEqualTo(Verdict.FALSE);
    assertThat(result.perResource()).containsEntry(intruder.resource(), Verdict.FALSE);
    assertThat(result.perResource().values()).containsOnlyOnce(Verdict.FALSE);
    assertThat(result.explanation()).contains("intruder ACQUIRE X " + intruder.resource());
    System.out.println(result.explanation());
  }

  private static CheckResult timed(String name, List<Operation> history) {
    long startNanos = System.nanoTime();
    CheckResult result = new LinearizabilityChecker().check(history);
    long elapsedMs = (System.nanoTime() - startNanos) / 1_000_000;
    System.out.printf("%s: %s, %d states, %d ms%n", name, result.summary(),
        result.statesVisited(), elapsedMs);
    return result;
  }
}
