package io.synod.api.event;

import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A durable, ordered event bus: every published event gets an offset in one sequence, and each
 * consumer group receives the events of the types it subscribed to, at least once, in offset
 * order, resuming after a restart from the last offset it acknowledged.
 *
 * <p><b>Acknowledgement.</b> A handler acknowledges an event by returning normally; if it throws,
 * the same event is delivered again (after a pause) before any later one. Acknowledgements are
 * made durable in batches, so after a crash or restart a group may see again events it had
 * acknowledged since its last durable acknowledgement, never fewer: handlers must be idempotent
 * (a correlation id and the event's type or offset make a good key).
 *
 * <p><b>Transport-neutral.</b> The built-in bus lives on synod's replicated log. The interface
 * maps onto brokers a binding may use instead:
 *
 * <table>
 *   <caption>How the bus maps onto Kafka and NATS JetStream</caption>
 *   <tr><th>here</th><th>Kafka</th><th>NATS JetStream</th></tr>
 *   <tr><td>event type</td><td>topic</td><td>subject</td></tr>
 *   <tr><td>correlation id</td><td>record key (keeps one process's events in one partition,
 *       in order)</td><td>a header ({@code Synod-Correlation-Id})</td></tr>
 *   <tr><td>payload</td><td>record headers or a JSON value</td><td>headers or a JSON body</td></tr>
 *   <tr><td>consumer group</td><td>consumer group ({@code group.id})</td><td>durable consumer
 *       filtered on the subjects</td></tr>
 *   <tr><td>offset</td><td>partition offset (ordered per partition only)</td><td>stream
 *       sequence</td></tr>
 *   <tr><td>acknowledge</td><td>commit the offset</td><td>ack</td></tr>
 * </table>
 *
 * A Kafka binding orders events per correlation id rather than globally; consumers of this
 * interface should rely on no more than that.
 */
public interface DurableEventBus {

  /**
   * Appends the event (its offset and time are assigned here; those it carries are ignored). The
   * future completes with its offset once it is durable, and fails if the bus cannot take it
   * (with {@link io.synod.api.SynodException} UNAVAILABLE on a node that cannot write).
   */
  CompletableFuture<Long> publish(Event event);

  /**
   * Delivers to {@code handler}, on a thread of the subscription's own, every event of {@code
   * types} after the group's last acknowledged offset, then each new one as it is published,
   * until the subscription is closed. Events of other types are passed over (and count as
   * acknowledged for the group). A group is delivered through one subscription at a time.
   *
   * @param consumerGroup the durable name the group's position is kept under (same rules as an
   *     event type)
   * @param types the event types to deliver; at least one
   */
  Subscription subscribe(String consumerGroup, Set<String> types, Handler handler);

  /** The group's last durably acknowledged offset; 0 if it has none. */
  long acknowledged(String consumerGroup);

  /** Handles one delivered event; returning normally acknowledges it. */
  @FunctionalInterface
  interface Handler {
    /** Throwing (anything) asks for the same event again. */
    void handle(Event event) throws Exception;
  }

  /** A running subscription; closing it stops delivery and makes its progress durable. */
  interface Subscription extends AutoCloseable {
    String consumerGroup();

    @Override
    void close();
  }
}
