package io.synod.api.event;

import io.synod.api.SynodException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One event on the durable bus. Built with {@link #of} to publish; the bus fills in {@code
 * offset} and {@code publishedAtMs} when it appends it, and delivers it with them.
 *
 * <p>Bounds, checked here with the field named: a type is 1 to {@value #TYPE_CHARS_MAX} letters,
 * digits, '.', '_' or '-' starting with a letter or digit (valid as a Kafka topic and as a NATS
 * subject token sequence); a correlation id 1 to {@value #CORRELATION_ID_CHARS_MAX} characters;
 * the payload's keys (1 to {@value #KEY_CHARS_MAX} characters) and values together at most
 * {@value #PAYLOAD_BYTES_MAX} bytes of UTF-8. The payload is kept sorted by key.
 *
 * @param type what happened or what is asked; the topic (Kafka) or subject (JetStream)
 * @param correlationId ties together the events of one business process (a saga); the message
 *     key (Kafka) or a header (JetStream)
 * @param payload small string data; larger data belongs in a store, referenced from here
 * @param publishedAtMs the leader's clock when the event was appended; 0 before
 * @param offset the event's place in the bus's one sequence, from 1; {@link #UNPUBLISHED} before
 */
public record Event(String type, String correlationId, Map<String, String> payload,
    long publishedAtMs, long offset) {
  public static final int TYPE_CHARS_MAX = 128;
  public static final int CORRELATION_ID_CHARS_MAX = 256;
  public static final int KEY_CHARS_MAX = 256;
  public static final int PAYLOAD_BYTES_MAX = 16 * 1024;
  /** The offset of an event not yet appended; appended events count from 1. */
  public static final long UNPUBLISHED = 0;

  private static final Pattern TYPE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  public Event {
    requireType("type", type);
    if (correlationId == null || correlationId.isEmpty()
        || correlationId.length() > CORRELATION_ID_CHARS_MAX) {
      throw SynodException.invalid("correlation_id", "must be 1 to " + CORRELATION_ID_CHARS_MAX
          + " characters; got " + (correlationId == null ? "none"
          : correlationId.length() + " characters"));
    }
    payload = checkedPayload(payload);
    if (offset < UNPUBLISHED) {
      throw SynodException.invalid("offset", "must not be negative; got " + offset);
    }
  }

  /** An event to publish. */
  public static Event of(String type, String correlationId, Map<String, String> payload) {
    return new Event(type, correlationId, payload, 0, UNPUBLISHED);
  }

  /** This event as the bus appended it. */
  public Event appended(long atOffset, long atMs) {
    return new Event(type, correlationId, payload, atMs, atOffset);
  }

  /**
   * What the event weighs for the bus's retention bound: its strings in UTF-8 plus 16 bytes for
   * the offset and time. The same on every replica.
   */
  public long sizeBytes() {
    return 16 + utf8(type) + utf8(correlationId) + payloadBytes(payload);
  }

  /** Checks an event type (a subscription's too), naming {@code field} if it is not one. */
  public static void requireType(String field, String type) {
    if (type == null || !TYPE.matcher(type).matches()) {
      throw SynodException.invalid(field, "must be 1 to " + TYPE_CHARS_MAX + " letters, digits,"
          + " '.', '_' or '-', starting with a letter or digit; got '" + type + "'");
    }
  }

  private static SortedMap<String, String> checkedPayload(Map<String, String> payload) {
    TreeMap<String, String> sorted = new TreeMap<>();
    if (payload != null) {
      payload.forEach((key, value) -> {
        if (key == null || key.isEmpty() || key.length() > KEY_CHARS_MAX) {
          throw SynodException.invalid("payload", "keys must be 1 to " + KEY_CHARS_MAX
              + " characters; got '" + key + "'");
        }
        if (value == null) {
          throw SynodException.invalid("payload." + key, "must not be null");
        }
        sorted.put(key, value);
      });
    }
    long bytes = payloadBytes(sorted);
    if (bytes > PAYLOAD_BYTES_MAX) {
      throw SynodException.invalid("payload", "must be at most " + PAYLOAD_BYTES_MAX
          + " bytes of keys and values; got " + bytes + ". Keep large data in a store and"
          + " put its key here");
    }
    return Collections.unmodifiableSortedMap(sorted);
  }

  private static long payloadBytes(Map<String, String> payload) {
    long bytes = 0;
    for (Map.Entry<String, String> entry : payload.entrySet()) {
      bytes += utf8(entry.getKey()) + utf8(entry.getValue());
    }
    return bytes;
  }

  private static int utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8).length;
  }
}
