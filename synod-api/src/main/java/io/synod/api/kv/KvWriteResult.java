package io.synod.api.kv;

/**
 * A write's or delete's outcome (spec 004 {@code WriteKeyValueResponse}). A write that could not
 * reach its consistency is not a result but a {@link io.synod.api.SynodException} (UNAVAILABLE),
 * so {@code success} is true here; it is kept for the spec's shape.
 *
 * @param replicaCount replicas that acknowledged before the write returned
 * @param duplicate the idempotency key was seen before: this is the first write's response
 */
public record KvWriteResult(boolean success, String key, String idempotencyKey,
    VectorClock clock, int replicaCount, Consistency consistency, boolean duplicate,
    String errorMessage) {

  /** The same response, as a repeat of an idempotent write returns it. */
  public KvWriteResult asDuplicate() {
    return new KvWriteResult(success, key, idempotencyKey, clock, replicaCount, consistency, true,
        errorMessage);
  }
}
