package io.synod.api.kv;

import java.util.Objects;

/**
 * A write (spec 004 {@code WriteKeyValueRequest}). {@code consistency} null means the tenant's
 * default; {@code idempotencyKey} null means a retry may apply twice.
 */
public record KvWrite(String tenantId, String key, byte[] value, Consistency consistency,
    String idempotencyKey) {
  public KvWrite {
    Objects.requireNonNull(value, "value");
  }

  public static KvWrite of(String tenantId, String key, byte[] value) {
    return new KvWrite(tenantId, key, value, null, null);
  }
}
