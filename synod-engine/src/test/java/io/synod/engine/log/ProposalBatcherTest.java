package io.synod.engine.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProposalBatcherTest {
  private final List<List<TxnCommand>> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<CompletableFuture<List<TxnOutcome>>> replies =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  private CompletableFuture<List<TxnOutcome>> sender(List<TxnCommand> commands) {
    sent.add(commands);
    CompletableFuture<List<TxnOutcome>> reply = new CompletableFuture<>();
    replies.add(reply);
    return reply;
  }

  private static TxnCommand complete(String key) {
    return new TxnCommand.Complete(key, 1);
  }

  private static List<TxnOutcome> outcomes(List<TxnCommand> commands) {
    List<TxnOutcome> out = new ArrayList<>();
    commands.forEach(c -> out.add(new TxnOutcome.Refused(null, c.txnKey())));
    return out;
  }

  @Test
  void commandsQueuedWhileEntriesAreInFlightGoOutTogetherInOrder() {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 100, 5, 0, this::sender);
    var first = batcher.submit(complete("a"));
    var second = batcher.submit(complete("b"));
    var third = batcher.submit(complete("c"));
    assertThat(sent).hasSize(1);

    replies.get(0).complete(outcomes(sent.get(0)));

    assertThat(sent).hasSize(2);
    assertThat(sent.get(1)).extracting(TxnCommand::txnKey).containsExactly("b", "c");
    replies.get(1).complete(outcomes(sent.get(1)));
    assertThat(((TxnOutcome.Refused) first.join()).why()).isEqualTo("a");
    assertThat(((TxnOutcome.Refused) second.join()).why()).isEqualTo("b");
    assertThat(((TxnOutcome.Refused) third.join()).why()).isEqualTo("c");
  }

  @Test
  void aFailedEntryFailsEveryCommandInItAndFreesItsSlot() {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 100, 5, 0, this::sender);
    var first = batcher.submit(complete("a"));
    var second = batcher.submit(complete("b"));

    replies.get(0).completeExceptionally(new IllegalStateException("not leader"));

    assertThat(first).isCompletedExceptionally();
    assertThat(sent).hasSize(2);
    replies.get(1).complete(outcomes(sent.get(1)));
    assertThat(second.join()).isInstanceOf(TxnOutcome.Refused.class);
  }

  @Test
  void aLazyCommandWaitsForCompanyOrForItsDelay() throws Exception {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 100, 50, 0, this::sender);
    var lazy = batcher.submitLazily(complete("lazy"));
    assertThat(sent).isEmpty();
    var urgent = batcher.submit(complete("urgent"));
    assertThat(sent).singleElement().satisfies(entry ->
        assertThat(entry).extracting(TxnCommand::txnKey).containsExactly("lazy", "urgent"));
    replies.get(0).complete(outcomes(sent.get(0)));
    assertThat(lazy.join()).isNotNull();
    assertThat(urgent.join()).isNotNull();

    var alone = batcher.submitLazily(complete("alone"));
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (sent.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(sent).hasSize(2);
    replies.get(1).complete(outcomes(sent.get(1)));
    assertThat(alone.join()).isNotNull();
  }

  @Test
  void aFullQueueRefusesWithAClearError() {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 1, 5, 0, this::sender);
    batcher.submit(complete("a"));
    batcher.submit(complete("b"));

    var refused = batcher.submit(complete("c"));

    assertThat(refused).isCompletedExceptionally();
    assertThat(refused.exceptionNow()).hasMessageContaining("queue is full");
  }

  private static final long AN_HOUR = TimeUnit.HOURS.toNanos(1);

  /** Answers the entry at {@code index} with one outcome per command. */
  private void answer(int index) {
    replies.get(index).complete(outcomes(sent.get(index)));
  }

  /**
   * Leaves the batcher just after an entry of two eager commands was answered, nothing queued
   * (lazy commands wait a minute for company).
   */
  private ProposalBatcher<TxnCommand, TxnOutcome> afterAnEntryOfTwo(long lingerNanos) {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 100, 60_000, lingerNanos,
        this::sender);
    batcher.submit(complete("a"));
    batcher.submit(complete("b"));
    batcher.submit(complete("c"));
    answer(0); // [a] had one caller: no linger, [b, c] goes out at once
    assertThat(sent).hasSize(2);
    answer(1);
    return batcher;
  }

  @Test
  void afterAnEntryOfSeveralCallersTheNextWaitsUntilAsManyAreQueued() {
    var batcher = afterAnEntryOfTwo(AN_HOUR);

    var d = batcher.submit(complete("d"));
    var lazy = batcher.submitLazily(complete("lazy"));
    assertThat(sent).as("one caller of two came back").hasSize(2);
    var e = batcher.submit(complete("e"));

    assertThat(sent).hasSize(3);
    assertThat(sent.get(2)).extracting(TxnCommand::txnKey).containsExactly("d", "lazy", "e");
    answer(2);
    assertThat(d).isCompleted();
    assertThat(e).isCompleted();
  }

  @Test
  void theLingerEndsAtItsTimeWhenTheOthersDoNotComeBack() throws Exception {
    var batcher = afterAnEntryOfTwo(TimeUnit.MILLISECONDS.toNanos(20));

    var d = batcher.submit(complete("d"));

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (sent.size() < 3 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(sent).hasSize(3);
    assertThat(sent.get(2)).extracting(TxnCommand::txnKey).containsExactly("d");
    answer(2);
    assertThat(d).isCompleted();
  }

  @Test
  void aLoneCallerNeverWaits() {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 100, 5, AN_HOUR, this::sender);
    batcher.submit(complete("a"));
    answer(0);

    batcher.submit(complete("b"));

    assertThat(sent).hasSize(2);
  }

  @Test
  void aFailedEntryIsNotWaitedOn() {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 100, 5, AN_HOUR, this::sender);
    batcher.submit(complete("a"));
    batcher.submit(complete("b"));
    batcher.submit(complete("c"));
    answer(0);
    replies.get(1).completeExceptionally(new IllegalStateException("not leader"));

    batcher.submit(complete("d"));

    assertThat(sent).hasSize(3);
  }

  @Test
  void closingFailsTheCommandsStillQueued() {
    var batcher = afterAnEntryOfTwo(AN_HOUR);
    var lingering = batcher.submit(complete("d"));
    var lazy = batcher.submitLazily(complete("lazy"));

    batcher.close();

    assertThat(lingering.exceptionNow()).hasMessageContaining("closed before");
    assertThat(lazy.exceptionNow()).hasMessageContaining("closed before");
    assertThat(batcher.submit(complete("e"))).isCompletedExceptionally();
    assertThat(sent).hasSize(2);
  }

  @Test
  void anEntryAnsweredAfterCloseStillAnswersItsCallers() {
    var batcher = new ProposalBatcher<TxnCommand, TxnOutcome>(1, 100, 5, AN_HOUR, this::sender);
    batcher.submit(complete("a"));
    var b = batcher.submit(complete("b"));
    var c = batcher.submit(complete("c"));
    answer(0);
    batcher.close();

    answer(1); // two callers, nothing queued: would linger, but the batcher is closed

    assertThat(b).isCompleted();
    assertThat(c).isCompleted();
    assertThat(sent).hasSize(2);
  }
}
