package io.synod.core.event;

import static io.synod.core.Invariants.check;

import io.synod.api.event.Event;
import io.synod.core.event.EventEffect.Refused.Reason;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The bus's part of the event domain: the one sequence of offsets, the recent events it retains,
 * and each consumer group's acknowledged offset. Pure and deterministic like its owner, {@link
 * EventStateMachine}, which serialises access.
 *
 * <p><b>Retention</b> is a window, as in Kafka: an event is dropped once it is older than {@code
 * eventRetentionMs} (by the times in later entries), or once more than {@code eventsRetainedMax}
 * events or {@code eventBytesRetainedMax} bytes are newer, whether or not every group has
 * acknowledged it. A group that falls behind the window misses what left it; its subscriber sees
 * the gap in the offsets.
 *
 * <p><b>Groups</b> are kept in the order of their last acknowledgement; one that acknowledged
 * nothing for {@code groupRetentionMs} is forgotten (it starts again from the window's oldest
 * event). A group's offset only grows.
 */
final class EventStream {
  /** A group's durable position and when it last acknowledged. */
  record Position(long offset, long atMs) {}

  private final EventStateMachine.Limits limits;
  private final NavigableMap<Long, Event> retained = new TreeMap<>();
  private long retainedBytes;
  /** The last offset assigned; 0 before the first event. */
  private long lastOffset;
  /** Least recently acknowledged first. */
  private final LinkedHashMap<String, Position> groups = new LinkedHashMap<>();

  EventStream(EventStateMachine.Limits limits) {
    this.limits = limits;
  }

  /** Gives the event the next offset and retains it. */
  Event append(Event draft, long nowMs) {
    Event event = draft.appended(lastOffset + 1, nowMs);
    lastOffset = event.offset();
    retained.put(event.offset(), event);
    retainedBytes += event.sizeBytes();
    while (retained.size() > limits.eventsRetainedMax()
        || retainedBytes > limits.eventBytesRetainedMax()) {
      dropOldest();
    }
    return event;
  }

  void acknowledge(EventCommand.Acknowledge c, List<EventEffect> effects) {
    if (c.offset() > lastOffset) {
      effects.add(new EventEffect.Refused(c.group(), Reason.INVALID, "offset " + c.offset()
          + " is beyond the last published offset " + lastOffset));
      return;
    }
    Position known = groups.remove(c.group());
    if (known == null && groups.size() >= limits.groupsMax()) {
      effects.add(new EventEffect.Refused(c.group(), Reason.LIMIT, "limit groupsMax="
          + limits.groupsMax() + " reached: idle groups are forgotten after "
          + limits.groupRetentionMs() + " ms, or raise the limit"));
      return;
    }
    long offset = known == null ? c.offset() : Math.max(known.offset(), c.offset());
    groups.put(c.group(), new Position(offset, c.nowMs()));
    effects.add(new EventEffect.Acknowledged(c.group(), offset));
  }

  /** Drops events and forgets groups that aged out by {@code nowMs}. */
  void expire(long nowMs) {
    long eventCutoffMs = EventStateMachine.minus(nowMs, limits.eventRetentionMs());
    while (!retained.isEmpty() && retained.firstEntry().getValue().publishedAtMs() < eventCutoffMs) {
      dropOldest();
    }
    long groupCutoffMs = EventStateMachine.minus(nowMs, limits.groupRetentionMs());
    Iterator<Position> oldest = groups.values().iterator();
    while (oldest.hasNext() && oldest.next().atMs() < groupCutoffMs) {
      oldest.remove();
    }
  }

  private void dropOldest() {
    retainedBytes -= retained.pollFirstEntry().getValue().sizeBytes();
  }

  // ---------------------------------------------------------------- queries

  /** Up to {@code max} retained events after {@code offset}, in order. */
  List<Event> after(long offset, int max) {
    List<Event> events = new ArrayList<>(Math.min(max, 64));
    for (Event event : retained.tailMap(offset, false).values()) {
      if (events.size() >= max) {
        break;
      }
      events.add(event);
    }
    return events;
  }

  long acknowledged(String group) {
    Position position = groups.get(group);
    return position == null ? 0 : position.offset();
  }

  long lastOffset() {
    return lastOffset;
  }

  /** The oldest retained event's offset; {@code lastOffset() + 1} when none is retained. */
  long firstRetainedOffset() {
    return retained.isEmpty() ? lastOffset + 1 : retained.firstKey();
  }

  Iterable<Event> retained() {
    return retained.values();
  }

  Map<String, Position> groups() {
    return Collections.unmodifiableMap(groups);
  }

  // ---------------------------------------------------------------- snapshots

  void restore(long last, List<Event> events, Map<String, Position> positions) {
    lastOffset = last;
    for (Event event : events) {
      check(retained.put(event.offset(), event) == null, "event %d twice in the snapshot",
          event.offset());
      retainedBytes += event.sizeBytes();
    }
    groups.putAll(positions);
  }

  /**
   * Offsets are contiguous and end at the last one; groups are not ahead of it. The limits are
   * not checked: a snapshot taken under larger ones must still load.
   */
  void checkInvariants() {
    long expected = firstRetainedOffset();
    long bytes = 0;
    for (Map.Entry<Long, Event> entry : retained.entrySet()) {
      check(entry.getKey() == expected && entry.getValue().offset() == expected,
          "retained offsets are not contiguous at %d", expected);
      expected++;
      bytes += entry.getValue().sizeBytes();
    }
    check(retained.isEmpty() || expected == lastOffset + 1,
        "the newest retained offset %d is not the last offset %d", expected - 1, lastOffset);
    check(bytes == retainedBytes, "retained bytes %d counted as %d", bytes, retainedBytes);
    groups.forEach((group, position) -> check(position.offset() <= lastOffset,
        "group %s at %d is beyond the last offset %d", group, position.offset(), lastOffset));
  }
}
