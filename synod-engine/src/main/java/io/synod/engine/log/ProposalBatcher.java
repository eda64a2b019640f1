package io.synod.engine.log;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Packs waiting commands into log entries. At most {@code inFlightMax} entries are in flight;
 * while they are, new commands queue, and the next entry carries all of them (up to {@link
 * LogEntries#COMMANDS_PER_ENTRY_MAX}). Under load this turns many proposals into one consensus
 * round, one fsync and one apply; with no load a command goes out at once.
 *
 * <p>A lazy command (one whose caller does not wait on it, such as Complete) does not start an
 * entry of its own: it rides along with the next command that does, or goes out after {@code
 * lazyDelayMs} if none comes.
 */
final class ProposalBatcher<C, O> {
  private record Pending<C, O>(C command, CompletableFuture<O> result) {}

  private final int inFlightMax;
  private final int queuedMax;
  private final Function<List<C>, CompletableFuture<List<O>>> sender;
  private final ArrayDeque<Pending<C, O>> queue = new ArrayDeque<>();
  private final long lazyDelayMs;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "synod-log-batcher");
    t.setDaemon(true);
    return t;
  });
  private int inFlight;
  private boolean flushScheduled;
  private boolean closed;

  ProposalBatcher(int inFlightMax, int queuedMax, long lazyDelayMs,
      Function<List<C>, CompletableFuture<List<O>>> sender) {
    this.inFlightMax = inFlightMax;
    this.queuedMax = queuedMax;
    this.lazyDelayMs = lazyDelayMs;
    this.sender = sender;
  }

  CompletableFuture<O> submit(C command) {
    return enqueue(command, false);
  }

  CompletableFuture<O> submitLazily(C command) {
    return enqueue(command, true);
  }

  private CompletableFuture<O> enqueue(C command, boolean lazy) {
    CompletableFuture<O> result = new CompletableFuture<>();
    List<Pending<C, O>> batch = null;
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(
            new IllegalStateException("coordinator log is closed"));
      }
      if (queue.size() >= queuedMax) {
        return CompletableFuture.failedFuture(new IllegalStateException(
            "coordinator log queue is full (" + queuedMax + " proposals waiting)"));
      }
      queue.addLast(new Pending<>(command, result));
      if (!lazy) {
        batch = takeBatchIfAllowed();
      } else if (!flushScheduled) {
        flushScheduled = true;
        timer.schedule(this::flush, lazyDelayMs, TimeUnit.MILLISECONDS);
      }
    }
    send(batch);
    return result;
  }

  private void flush() {
    List<Pending<C, O>> batch;
    synchronized (this) {
      flushScheduled = false;
      batch = takeBatchIfAllowed();
    }
    send(batch);
  }

  void close() {
    synchronized (this) {
      closed = true;
    }
    timer.shutdownNow();
  }

  private List<Pending<C, O>> takeBatchIfAllowed() {
    if (inFlight >= inFlightMax || queue.isEmpty()) {
      return null;
    }
    inFlight++;
    int size = Math.min(queue.size(), LogEntries.COMMANDS_PER_ENTRY_MAX);
    List<Pending<C, O>> batch = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      batch.add(queue.pollFirst());
    }
    return batch;
  }

  private void send(List<Pending<C, O>> batch) {
    if (batch == null) {
      return;
    }
    List<C> commands = new ArrayList<>(batch.size());
    batch.forEach(p -> commands.add(p.command()));
    CompletableFuture<List<O>> reply;
    try {
      reply = sender.apply(commands);
    } catch (RuntimeException e) {
      reply = CompletableFuture.failedFuture(e);
    }
    reply.whenComplete((outcomes, error) -> finish(batch, outcomes, error));
  }

  private void finish(List<Pending<C, O>> sent, List<O> outcomes, Throwable error) {
    List<Pending<C, O>> next;
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
