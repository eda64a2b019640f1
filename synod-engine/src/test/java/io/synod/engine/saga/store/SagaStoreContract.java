package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.saga.StepOperation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link SagaStore} on a real store must do with its barrier, run once per store by
 * the subclasses. Each test starts with a stock of {@value #STOCK} (a row, or a Redis counter);
 * the action takes 3 from it and the compensation gives 3 back.
 */
@Timeout(60)
abstract class SagaStoreContract {
  static final long STOCK = 10;
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final AtomicInteger SAGAS = new AtomicInteger();

  /** The store under test, fresh for each test. */
  SagaStore store;

  /** This test's saga id. */
  String saga;

  /** Sets the stock to {@value #STOCK} and drops what earlier tests left. */
  abstract void resetData() throws Exception;

  abstract SagaStore openStore();

  /** Takes {@code n} from the stock. */
  abstract StepOperation take(int n);

  /** Gives {@code n} back to the stock. */
  abstract StepOperation giveBack(int n);

  /** An operation the store refuses for good: a constraint violation, a wrong type. */
  abstract StepOperation invalid();

  /** The stock now, read afresh. */
  abstract long stock() throws Exception;

  /** The barrier of one step, op to reason ("action", "blocked", "compensation"). */
  abstract Map<String, String> barrier(String sagaId, String step) throws Exception;

  @BeforeEach
  void openFreshStore() throws Exception {
    resetData();
    store = openStore();
    saga = "saga-" + SAGAS.incrementAndGet();
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  StepCall action(StepOperation op) {
    return action(op, TIMEOUT);
  }

  StepCall action(StepOperation op, Duration timeout) {
    return new StepCall(saga, "reserve", StepCall.Kind.ACTION, saga + "_step_reserve", op, timeout);
  }

  StepCall compensation(StepOperation op) {
    return new StepCall(
        saga, "reserve", StepCall.Kind.COMPENSATION, saga + "_comp_reserve", op, TIMEOUT);
  }

  static StepResult applied() {
    return new StepResult.Applied();
  }

  static StepResult alreadyApplied() {
    return new StepResult.AlreadyApplied();
  }

  @Test
  void actionAppliesOnceAndARetryIsAlreadyApplied() throws Exception {
    assertThat(store.apply(action(take(3)))).isEqualTo(applied());
    assertThat(stock()).isEqualTo(STOCK - 3);
    assertThat(barrier(saga, "reserve")).containsExactlyEntriesOf(Map.of("action", "action"));

    assertThat(store.apply(action(take(3)))).isEqualTo(alreadyApplied());
    assertThat(stock()).isEqualTo(STOCK - 3);
  }

  @Test
  void compensationAfterActionUndoesIt() throws Exception {
    assertThat(store.apply(action(take(3)))).isEqualTo(applied());

    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(applied());
    assertThat(stock()).isEqualTo(STOCK);
    assertThat(barrier(saga, "reserve"))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("action", "action", "compensation", "compensation"));
  }

  @Test
  void compensationTwiceIsAlreadyApplied() throws Exception {
    assertThat(store.apply(action(take(3)))).isEqualTo(applied());
    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(applied());

    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(alreadyApplied());
    assertThat(stock()).isEqualTo(STOCK);
  }

  @Test
  void compensationWithoutActionIsSkippedAndALateActionIsRefused() throws Exception {
    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(new StepResult.Skipped());
    assertThat(stock()).isEqualTo(STOCK);
    assertThat(barrier(saga, "reserve"))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("action", "blocked", "compensation", "compensation"));

    assertThat(store.apply(action(take(3)))).isEqualTo(new StepResult.Refused());
    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(alreadyApplied());
    assertThat(stock()).isEqualTo(STOCK);
  }

  @Test
  void refusedOperationFailsForGoodAndLeavesNoBarrier() throws Exception {
    StepResult result = store.apply(action(invalid()));

    assertThat(result)
        .isInstanceOfSatisfying(
            StepResult.Failed.class,
            failed -> {
              assertThat(failed.retryable()).isFalse();
              assertThat(failed.reason())
                  .contains("action of step 'reserve' on store '" + store.name() + "'");
            });
    assertThat(barrier(saga, "reserve")).isEmpty();
    // Nothing ran, so there is nothing to undo.
    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(new StepResult.Skipped());
    assertThat(stock()).isEqualTo(STOCK);
  }

  @Test
  void operationOfAnotherKindOfStoreFailsForGood() throws Exception {
    StepOperation local = new StepOperation.Local("mailer", Map.of());

    assertThat(store.apply(action(local)))
        .isInstanceOfSatisfying(
            StepResult.Failed.class, failed -> assertThat(failed.retryable()).isFalse());
    assertThat(barrier(saga, "reserve")).isEmpty();
  }

  /** Tries of one action racing each other: one applies, the others find its barrier. */
  @Test
  void concurrentTriesOfOneActionApplyOnce() throws Exception {
    int tries = 6;
    ExecutorService pool = Executors.newFixedThreadPool(tries);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<StepResult>> results = new ArrayList<>();
      for (int i = 0; i < tries; i++) {
        results.add(pool.submit(() -> {
          start.await();
          return store.apply(action(take(3)));
        }));
      }
      start.countDown();
      List<StepResult> outcomes = new ArrayList<>();
      for (Future<StepResult> f : results) {
        outcomes.add(f.get());
      }
      assertThat(outcomes).containsOnly(applied(), alreadyApplied());
      assertThat(outcomes).filteredOn(applied()::equals).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
    assertThat(stock()).isEqualTo(STOCK - 3);
  }
}
