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
 *
 * <h2>Lingering for the callers just answered</h2>
 *
 * When an entry that carried several eager commands is applied and nothing is queued, its callers
 * are being woken, and many come straight back with their next command (a lock's release, the
 * next acquire). Sending the first of them at once would give it an entry to itself and make the
 * others wait a whole round for the next one: entries alternate between one command and the
 * rest. So the batcher lingers: the next entry goes out when as many eager commands are queued
 * as the last entry carried, or {@code lingerNanos} after that entry was answered, whichever
 * comes first (PostgreSQL's commit_delay and commit_siblings, keyed on the callers the log
 * itself just answered). An entry with one eager command never causes a linger, so a lone
 * caller never waits for company that is not coming; at most one linger follows each entry.
 */
final class ProposalBatcher<C, O> {
  private record Pending<C, O>(C command, CompletableFuture<O> result, boolean lazy) {}

  private final int inFlightMax;
  private final int queuedMax;
  private final Function<List<C>, CompletableFuture<List<O>>> sender;
  private final ArrayDeque<Pending<C, O>> queue = new ArrayDeque<>();
  private final long lazyDelayMs;
  private final long lingerNanos;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "synod-log-batcher");
    t.setDaemon(true);
    return t;
  });
  private int inFlight;
  /** Commands in {@link #queue} that are not lazy. */
  private int queuedEager;
  /** While lingering (non-zero): send once this many eager commands are queued. */
  private int lingerFor;
  /** While lingering: the {@link System#nanoTime()} at which the next entry goes out anyway. */
  private long lingerEndsAt;
  private boolean lingerScheduled;
  private boolean flushScheduled;
  private boolean closed;

  /**
   * @param lingerNanos how long, at most, the next entry waits for the callers of the last one
   *     to come back (see the class comment); 0 never waits
   */
  ProposalBatcher(int inFlightMax, int queuedMax, long lazyDelayMs, long lingerNanos,
      Function<List<C>, CompletableFuture<List<O>>> sender) {
    this.inFlightMax = inFlightMax;
    this.queuedMax = queuedMax;
    this.lazyDelayMs = lazyDelayMs;
    this.lingerNanos = lingerNanos;
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
      queue.addLast(new Pending<>(command, result, lazy));
      if (!lazy) {
        queuedEager++;
        if (!lingering()) {
          batch = takeBatchIfAllowed();
        }
      } else if (!flushScheduled) {
        flushScheduled = true;
        timer.schedule(this::flush, lazyDelayMs, TimeUnit.MILLISECONDS);
      }
    }
    send(batch);
    return result;
  }

  /** A lazy command's delay ended: sends what is queued, if an entry may go out. */
  private void flush() {
    List<Pending<C, O>> batch;
    synchronized (this) {
      flushScheduled = false;
      batch = takeBatchIfAllowed();
    }
    send(batch);
  }

  /** Whether the next entry should wait still; schedules its send at the linger's end. */
  private boolean lingering() {
    if (lingerFor == 0 || closed) {
      return false;
    }
    if (queuedEager >= lingerFor || System.nanoTime() - lingerEndsAt >= 0) {
      lingerFor = 0;
      return false;
    }
    if (!lingerScheduled) {
      lingerScheduled = true;
      timer.schedule(this::endLinger, lingerEndsAt - System.nanoTime(), TimeUnit.NANOSECONDS);
    }
    return true;
  }

  private void endLinger() {
    List<Pending<C, O>> batch = null;
    synchronized (this) {
      lingerScheduled = false;
      // The timer may have been set for an earlier linger; then lingering() sets it again.
      if (!lingering()) {
        batch = takeBatchIfAllowed();
      }
    }
    send(batch);
  }

  /** Refuses new commands and fails those still queued: nothing waits for an entry never sent. */
  void close() {
    List<Pending<C, O>> stranded;
    synchronized (this) {
      closed = true;
      stranded = new ArrayList<>(queue);
      queue.clear();
      queuedEager = 0;
    }
    timer.shutdownNow();
    IllegalStateException error = new IllegalStateException(
        "coordinator log closed before the command was proposed");
    stranded.forEach(p -> p.result().completeExceptionally(error));
  }

  private List<Pending<C, O>> takeBatchIfAllowed() {
    if (closed || inFlight >= inFlightMax || queue.isEmpty()) {
      return null;
    }
    inFlight++;
    lingerFor = 0;
    int size = Math.min(queue.size(), LogEntries.COMMANDS_PER_ENTRY_MAX);
    List<Pending<C, O>> batch = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      Pending<C, O> pending = queue.pollFirst();
      if (!pending.lazy()) {
        queuedEager--;
      }
      batch.add(pending);
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
    List<Pending<C, O>> next = null;
    synchronized (this) {
      inFlight--;
      int eager = 0;
      for (Pending<C, O> pending : sent) {
        eager += pending.lazy() ? 0 : 1;
      }
      if (lingerNanos > 0 && eager > 1 && queuedEager < eager && error == null) {
        lingerFor = eager;
        lingerEndsAt = System.nanoTime() + lingerNanos;
      }
      if (!lingering()) {
        next = takeBatchIfAllowed();
      }
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
