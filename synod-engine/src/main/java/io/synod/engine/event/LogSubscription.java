package io.synod.engine.event;

import io.synod.api.SynodException;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.engine.log.CoordinatorLog;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer group's delivery on this node: a thread that reads the applied events after the
 * group's position, in offset order, hands those of its types to the handler, and logs the
 * position when it caught up (at most every 200 ms while events keep coming).
 *
 * <p><b>Positions.</b> {@code position} is the last offset handled (or passed over: another
 * type) here; {@code logged} the last one the log holds for the group. The thread starts from the
 * logged one, after a barrier entry so that the replica has applied everything committed before
 * (a follower, which cannot propose one, starts from what it applied). A handler that throws gets
 * the same event again after a pause that doubles up to a bound; the position before it is
 * logged first, so a restart meanwhile repeats nothing before it.
 *
 * <p><b>Gaps.</b> A group that fell behind the retained window resumes at the oldest retained
 * event; the skipped offsets are logged as a warning.
 */
final class LogSubscription implements DurableEventBus.Subscription {
  private static final Logger LOG = LoggerFactory.getLogger(LogSubscription.class);
  /** The longest the thread sleeps with nothing to deliver, should a wake-up be missed. */
  private static final long IDLE_WAIT_MS = 1_000;
  /** How long close waits for the handler to return and the position to be logged. */
  private static final long CLOSE_WAIT_MS = 10_000;
  /**
   * While events keep coming, the position is logged at most this often; it is logged at once
   * when the group caught up, before a redelivery pause, and on close.
   */
  private static final long LOG_POSITION_EVERY_NS = TimeUnit.MILLISECONDS.toNanos(200);

  private final CoordinatorLog log;
  private final EventConfig config;
  private final LongSupplier clockMs;
  private final String group;
  private final Set<String> types;
  private final DurableEventBus.Handler handler;
  private final Runnable onClosed;
  private final Semaphore wake = new Semaphore(0);
  private final Thread thread;
  private volatile boolean closed;
  private long position;
  private long logged;
  private long loggedAtNs = System.nanoTime();

  LogSubscription(CoordinatorLog log, EventConfig config, LongSupplier clockMs, String group,
      Set<String> types, DurableEventBus.Handler handler, Runnable onClosed) {
    this.log = log;
    this.config = config;
    this.clockMs = clockMs;
    this.group = group;
    this.types = types;
    this.handler = handler;
    this.onClosed = onClosed;
    this.thread = Thread.ofPlatform().daemon().name("synod-events-" + group).unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** New events were applied (called from the apply thread: must not block). */
  void wake() {
    if (wake.availablePermits() == 0) {
      wake.release();
    }
  }

  @Override
  public String consumerGroup() {
    return group;
  }

  /**
   * Stops delivery and waits (a bounded time) for the thread to log the position and end; the
   * group may subscribe again once it has.
   */
  @Override
  public void close() {
    closed = true;
    if (Thread.currentThread() == thread) {
      return; // a handler closing its own subscription: the loop ends when it returns
    }
    thread.interrupt();
    try {
      thread.join(CLOSE_WAIT_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------- the delivery thread

  private void run() {
    try {
      catchUp();
      logged = log.readEvents(events -> events.acknowledged(group));
      position = logged;
      LOG.info("event group {} subscribed to {}: resuming after offset {}", group,
          new TreeSet<>(types), logged);
      while (!closed) {
        wake.drainPermits();
        if (!deliverBatch()) {
          logPosition();
          wake.tryAcquire(IDLE_WAIT_MS, TimeUnit.MILLISECONDS);
        }
      }
    } catch (InterruptedException e) {
      // closing
    } catch (RuntimeException e) {
      LOG.error("event group {} stopped delivering at offset {}", group, position, e);
    } finally {
      Thread.interrupted(); // the position is logged even when the close interrupted us
      logPosition();
      onClosed.run();
    }
  }

  /** Waits until this replica applied what the log committed, as far as it can tell. */
  private void catchUp() throws InterruptedException {
    while (!closed) {
      try {
        log.barrier().get(config.proposalTimeout().toMillis(), TimeUnit.MILLISECONDS);
        return;
      } catch (ExecutionException | TimeoutException e) {
        if (log.leaderId().filter(leader -> !leader.equals(log.selfId())).isPresent()) {
          return; // a follower delivers what it applied
        }
        Thread.sleep(config.tick().toMillis());
      }
    }
  }

  /** Delivers the next batch; false if there was nothing to deliver. */
  private boolean deliverBatch() throws InterruptedException {
    List<Event> batch = log.readEvents(events -> events.after(position, config.deliveryBatchMax()));
    if (batch.isEmpty()) {
      return false;
    }
    long first = batch.getFirst().offset();
    if (first > position + 1) {
      LOG.warn("event group {} missed offsets {} to {}: they left the retained window before"
          + " it read them", group, position + 1, first - 1);
    }
    for (Event event : batch) {
      if (closed) {
        break;
      }
      if (types.contains(event.type())) {
        deliver(event);
      }
      position = event.offset();
    }
    if (System.nanoTime() - loggedAtNs >= LOG_POSITION_EVERY_NS) {
      logPosition();
    }
    return true;
  }

  /** Hands the event to the handler until it returns normally. */
  private void deliver(Event event) throws InterruptedException {
    long pauseMs = config.redeliveryDelay().toMillis();
    for (int attempt = 1; ; attempt++) {
      try {
        handler.handle(event);
        return;
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        // The stack trace once per event: a handler stuck on one event fails the same way.
        LOG.warn("event group {}: handler failed on {} offset {} correlation {} (attempt {}: {});"
            + " delivering it again in {} ms", group, event.type(), event.offset(),
            event.correlationId(), attempt, e, pauseMs, attempt == 1 ? e : null);
      }
      logPosition();
      if (closed) {
        throw new InterruptedException("closed");
      }
      Thread.sleep(pauseMs);
      pauseMs = Math.min(pauseMs * 2, config.redeliveryDelayMax().toMillis());
    }
  }

  /** Logs the position if it moved; a failure is logged and retried with the next batch. */
  private void logPosition() {
    if (position <= logged) {
      return;
    }
    loggedAtNs = System.nanoTime();
    EventCommand.Acknowledge command = new EventCommand.Acknowledge(group, position,
        clockMs.getAsLong());
    try {
      for (EventEffect effect : Proposals.propose(log, command, config.proposalTimeout())) {
        switch (effect) {
          case EventEffect.Acknowledged acknowledged -> logged = acknowledged.offset();
          case EventEffect.Refused refused -> LOG.warn("event group {}: acknowledgement of {}"
              + " refused: {}", group, position, refused.message());
          default -> { }
        }
      }
    } catch (SynodException e) {
      LOG.debug("event group {}: acknowledgement of {} not logged yet: {}", group, position,
          e.getMessage());
    }
  }
}
