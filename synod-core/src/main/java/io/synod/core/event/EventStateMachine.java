package io.synod.core.event;

import io.synod.api.event.Event;
import io.synod.api.saga.SagaStatus;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The replicated state of the event domain (the log's fourth): the durable bus ({@link
 * EventStream}: offsets, retained events, consumer groups' positions) and the choreographed sagas
 * that follow it ({@link Choreographies}). One machine holds both because an answer on the bus and
 * the saga's next move must be one change: the Publish that appends a service's {@code done}
 * also appends synod's next request, with consecutive offsets, in the same apply.
 *
 * <p><b>Purity.</b> {@link #apply} reads nothing but its argument and this object: times arrive in
 * the commands ({@code nowMs}, the leader's clock), so the leader decides when a step timed out
 * and logs it. Replicas that apply the same entries hold the same state and produce the same
 * effects. Not thread-safe: the caller serialises {@code apply} and the queries.
 *
 * <p><b>Invariants</b>, checked by {@link #checkInvariants()} (tests call it after every command;
 * a snapshot is checked when read): offsets are contiguous from 1 and retained events are the
 * newest, within the bounds; no group is ahead of the last offset; a running saga awaits exactly
 * its current step, every earlier one SUCCEEDED and every later one PENDING; a completed saga's
 * steps all SUCCEEDED; an aborted saga's steps up to the failed one are COMPENSATED and the
 * rest SKIPPED; the state only moves STARTED → STEP_EXECUTING → COMPLETED or COMPENSATING →
 * ABORTED.
 */
public final class EventStateMachine {

  /**
   * Bounds, identical on every replica (they decide outcomes).
   *
   * @param eventsRetainedMax events retained at most (the newest)
   * @param eventBytesRetainedMax bytes of retained events at most ({@link Event#sizeBytes})
   * @param eventRetentionMs how long an event is retained
   * @param groupsMax consumer groups remembered at most; an acknowledgement of a new one beyond
   *     is refused
   * @param groupRetentionMs how long a group that acknowledges nothing is remembered
   * @param choreographiesActiveMax sagas running at once; a Start beyond is refused
   * @param choreographiesFinishedMax finished sagas remembered at most
   * @param choreographyRetentionMs how long a finished saga is remembered
   */
  public record Limits(int eventsRetainedMax, long eventBytesRetainedMax, long eventRetentionMs,
      int groupsMax, long groupRetentionMs, int choreographiesActiveMax,
      int choreographiesFinishedMax, long choreographyRetentionMs) {
    public static final Limits DEFAULTS = new Limits(100_000, 64L << 20,
        Duration.ofDays(1).toMillis(), 1_000, Duration.ofDays(7).toMillis(), 10_000, 10_000,
        Duration.ofHours(1).toMillis());

    public Limits {
      positive("eventsRetainedMax", eventsRetainedMax);
      positive("eventRetentionMs", eventRetentionMs);
      positive("groupsMax", groupsMax);
      positive("groupRetentionMs", groupRetentionMs);
      positive("choreographiesActiveMax", choreographiesActiveMax);
      positive("choreographiesFinishedMax", choreographiesFinishedMax);
      positive("choreographyRetentionMs", choreographyRetentionMs);
      long largestEvent = 16L + Event.TYPE_CHARS_MAX + Event.CORRELATION_ID_CHARS_MAX * 3L
          + Event.PAYLOAD_BYTES_MAX;
      if (eventBytesRetainedMax < largestEvent) {
        throw new IllegalArgumentException("event limit eventBytesRetainedMax must hold the"
            + " largest event (" + largestEvent + " bytes), was " + eventBytesRetainedMax);
      }
    }

    private static void positive(String name, long value) {
      if (value <= 0) {
        throw new IllegalArgumentException(
            "event limit " + name + " must be positive, was " + value);
      }
    }
  }

  private final Limits limits;
  private final EventStream stream;
  private final Choreographies sagas;

  public EventStateMachine(Limits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
    this.stream = new EventStream(limits);
    this.sagas = new Choreographies(limits, stream);
  }

  /** Applies one command; the effects are listed in the order they happened. */
  public List<EventEffect> apply(EventCommand command) {
    // Events and groups that aged out by the command's time go first: the command meets the
    // bus as of then. Finished sagas go after, so that their bound holds between commands.
    stream.expire(command.nowMs());
    List<EventEffect> effects = new ArrayList<>();
    switch (command) {
      case EventCommand.Publish c -> {
        Event event = stream.append(c.event(), c.nowMs());
        effects.add(new EventEffect.Published(event));
        sagas.answer(event, effects);
      }
      case EventCommand.Acknowledge c -> stream.acknowledge(c, effects);
      case EventCommand.Start c -> sagas.start(c, effects);
      case EventCommand.TimeOut c -> sagas.timeOut(c, effects);
      case EventCommand.Abort c -> sagas.abort(c, effects);
    }
    sagas.forgetFinishedBefore(minus(command.nowMs(), limits.choreographyRetentionMs()));
    return List.copyOf(effects);
  }

  // ---------------------------------------------------------------- queries

  /** Up to {@code max} retained events after {@code offset}, in offset order. */
  public List<Event> after(long offset, int max) {
    return stream.after(offset, max);
  }

  /** The group's acknowledged offset; 0 for a group with none (or forgotten). */
  public long acknowledged(String group) {
    return stream.acknowledged(group);
  }

  /** The last offset assigned; 0 before the first event. */
  public long lastOffset() {
    return stream.lastOffset();
  }

  /** The oldest retained event's offset; {@code lastOffset() + 1} when none is retained. */
  public long firstRetainedOffset() {
    return stream.firstRetainedOffset();
  }

  public Optional<SagaStatus> choreography(String correlationId) {
    return Optional.ofNullable(sagas.get(correlationId)).map(ChoreographyRun::status);
  }

  /** Correlation ids of sagas not finished, in start order. */
  public List<String> activeChoreographies() {
    return sagas.active();
  }

  /** What every running saga awaits, and until when: for a new leader's driver. */
  public List<EventEffect.Awaiting> awaiting() {
    return sagas.awaiting();
  }

  /** Checks every invariant from scratch; throws IllegalStateException naming a broken one. */
  public void checkInvariants() {
    stream.checkInvariants();
    sagas.checkInvariants();
  }

  // ---------------------------------------------------------------- snapshots

  /** Writes the whole state; {@link #readSnapshot} gives back an identical machine. */
  public void writeSnapshot(DataOutput out) throws IOException {
    EventCodec.writeSnapshot(out, stream, sagas);
  }

  /** Reads a snapshot into a new machine with {@code limits}; refuses one breaking invariants. */
  public static EventStateMachine readSnapshot(DataInput in, Limits limits) throws IOException {
    EventStateMachine machine = new EventStateMachine(limits);
    try {
      EventCodec.readSnapshot(in, machine.stream, machine.sagas);
      machine.checkInvariants();
    } catch (RuntimeException e) {
      throw new IOException("corrupt event snapshot: " + e.getMessage(), e);
    }
    return machine;
  }

  // ---------------------------------------------------------------- arithmetic on times

  /** {@code a + b}, saturated: times from entries must not wrap around. */
  static long plus(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
  }

  static long minus(long a, long b) {
    return plus(a, -b);
  }

  /** Null becomes empty; a long text is cut at {@link EventCommand#REASON_CHARS_MAX}. */
  static String bounded(String text) {
    if (text == null) {
      return "";
    }
    int max = EventCommand.REASON_CHARS_MAX;
    return text.length() <= max ? text : text.substring(0, max - 1) + "…";
  }
}
