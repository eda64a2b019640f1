package io.synod.engine.history;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.lock.LockMode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HistoryTest {
  private final AtomicLong clock = new AtomicLong(100);
  private final History history = new History(() -> clock.getAndAdd(10));

  @Test
  void aHandleRecordsInvocationAndReturnTimes() {
    History.Handle acquire = history.invoke(1, Operation.Kind.ACQUIRE, "pg/t/1", "s1", LockMode.X);
    History.Handle release = history.invoke(1, Operation.Kind.RELEASE, "pg/t/1", "s1", null);
    acquire.ok(7);
    release.ok();

    assertThat(history.operations()).containsExactly(
        Operation.acquire(1, "pg/t/1", "s1", LockMode.X, 100, 120, new Operation.Granted(7)),
        Operation.release(1, "pg/t/1", "s1", 110, 130, Operation.Result.OK));
  }

  @Test
  void aHandleNeverCompletedIsUnknownAndNeverReturns() {
    history.invoke(2, Operation.Kind.ACQUIRE, "pg/t/1", "s2", LockMode.S);

    Operation op = history.operations().getFirst();
    assertThat(op.result()).isEqualTo(Operation.Result.UNKNOWN);
    assertThat(op.returnNanos()).isEqualTo(Operation.NEVER);
    assertThat(op.indeterminate()).isTrue();
  }

  @Test
  void aHandleCompletesOnceAndWithAResultThatFitsItsKind() {
    History.Handle acquire = history.invoke(1, Operation.Kind.ACQUIRE, "pg/t/1", "s1", LockMode.X);
    acquire.refused();
    assertThatThrownBy(acquire::unknown).hasMessageContaining("completed twice");

    History.Handle release = history.invoke(1, Operation.Kind.RELEASE, "pg/t/1", "s1", null);
    assertThatThrownBy(() -> release.ok(3)).hasMessageContaining("ok(token) on a RELEASE");
    assertThatThrownBy(() -> history.invoke(1, Operation.Kind.ACQUIRE, "pg/t/1", "s1", null))
        .hasMessageContaining("ACQUIRE with mode null");
  }

  @Test
  void anExpiryIsRecordedFromWhenItMayHaveHappened() {
    history.expired(3, null, "s3", 40);

    Operation op = history.operations().getFirst();
    assertThat(op.kind()).isEqualTo(Operation.Kind.EXPIRE);
    assertThat(op.invokeNanos()).isEqualTo(40);
    assertThat(op.returnNanos()).isEqualTo(100);
  }

  @Test
  void manyThreadsRecordWithoutLoss() throws Exception {
    History shared = new History();
    int threads = 8;
    int perThread = 2_000;
    List<Future<?>> done = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      for (int t = 0; t < threads; t++) {
        int client = t;
        done.add(pool.submit(() -> {
          for (int i = 0; i < perThread; i++) {
            shared.invoke(client, Operation.Kind.RELEASE, "pg/t/" + i, "s" + client, null).ok();
          }
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    }

    List<Operation> ops = shared.operations();
    assertThat(ops).hasSize(threads * perThread);
    assertThat(ops).isSortedAccordingTo((a, b) -> Long.compare(a.invokeNanos(), b.invokeNanos()));
    assertThat(new LinearizabilityChecker().check(shared).isLinearizable()).isTrue();
  }
}
