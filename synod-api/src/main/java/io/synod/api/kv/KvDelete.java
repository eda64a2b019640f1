package io.synod.api.kv;

/** A delete: writes a tombstone that follows the key's current versions, like any write. */
public record KvDelete(String tenantId, String key, Consistency consistency,
    String idempotencyKey) {
  public static KvDelete of(String tenantId, String key) {
    return new KvDelete(tenantId, key, null, null);
  }
}
