package io.synod.api.kv;

/**
 * A read (spec 004 {@code ReadKeyValueRequest}). {@code consistency} null means the tenant's
 * default. With {@code siblings}, concurrent versions are all returned instead of resolved by
 * timestamp.
 */
public record KvRead(String tenantId, String key, Consistency consistency, boolean siblings) {
  public static KvRead of(String tenantId, String key) {
    return new KvRead(tenantId, key, null, false);
  }
}
