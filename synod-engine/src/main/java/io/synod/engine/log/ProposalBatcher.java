package io.synod.engine.log;

import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Packs waiting commands into log entries. At most {@code inFlightMax} entries are in flight;
 * while they are, new commands queue, and the next entry carries all of them (up to {@link
 * LogEntries#COMMANDS_PER_ENTRY_MAX}). Under load this turns many proposals into one consensus
 * round, one fsync and one apply; with no load a command goes out at once.
 */
final class ProposalBatcher {
  private record Pending(TxnCommand command, CompletableFuture<TxnOutcome> result) {}

  private final int inFlightMax;
  private final int queuedMax;
  private final Function<List<TxnCommand>, CompletableFuture<List<TxnOutcome>>> sender;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int inFlight;

  ProposalBatcher(int inFlightMax, int queuedMax,
      Function<List<TxnCommand>, CompletableFuture<List<TxnOutcome>>> sender) {
    this.inFlightMax = inFlightMax;
    this.queuedMax = queuedMax;
    this.sender = sender;
  }

  CompletableFuture<TxnOutcome> submit(TxnCommand command) {
    CompletableFuture<TxnOutcome> result = new CompletableFuture<>();
    List<Pending> batch;
    synchronized (this) {
      if (queue.size() >= queuedMax) {
        return CompletableFuture.failedFuture(new IllegalStateException(
            "coordinator log queue is full (" + queuedMax + " proposals waiting)"));
      }
      queue.addLast(new Pending(command, result));
      batch = takeBatchIfAllowed();
    }
    send(batch);
    return result;
  }

  private List<Pending> takeBatchIfAllowed() {
    if (inFlight >= inFlightMax || queue.isEmpty()) {
      return null;
    }
    inFlight++;
    int size = Math.min(queue.size(), LogEntries.COMMANDS_PER_ENTRY_MAX);
    List<Pending> batch = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      batch.add(queue.pollFirst());
    }
    return batch;
  }

  private void send(List<Pending> batch) {
    if (batch == null) {
      return;
    }
    List<TxnCommand> commands = new ArrayList<>(batch.size());
    batch.forEach(p -> commands.add(p.command()));
    CompletableFuture<List<TxnOutcome>> reply;
    try {
      reply = sender.apply(commands);
    } catch (RuntimeException e) {
      reply = CompletableFuture.failedFuture(e);
    }
    reply.whenComplete((outcomes, error) -> finish(batch, outcomes, error));
  }

  private void finish(List<Pending> sent, List<TxnOutcome> outcomes, Throwable error) {
    List<Pending> next;
    synchronized (this) {
      inFlight--;
      next = takeBatchIfAllowed();
    }
    send(next);
    for (int i = 0; i < sent.size(); i++) {
      if (error != null) {
        sent.get(i).result().completeExceptionally(error);
      } else {
        sent.get(i).result().complete(outcomes.get(i));
      }
    }
  }
}
