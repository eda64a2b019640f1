package io.synod.api.kv;

import io.synod.api.SynodException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A tenant of the key-value store: its keys live apart from every other tenant's, on
 * {@code replicationFactor} replicas, read and written at {@code defaultConsistency} unless a
 * request says otherwise, within its quotas.
 *
 * @param maxValueBytes the largest value a write may carry
 * @param maxRequestsPerSecond reads and writes a coordinator admits per second for this tenant
 *     (each coordinator counts its own); 0 means no limit
 */
public record Tenant(String id, int replicationFactor, Consistency defaultConsistency,
    int maxValueBytes, int maxRequestsPerSecond) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  public static final int MAX_VALUE_BYTES = 4 << 20;

  public Tenant {
    Objects.requireNonNull(defaultConsistency, "default_consistency");
    checkId("tenant_id", id);
    if (replicationFactor < 1 || replicationFactor > 7) {
      throw SynodException.invalid("replication_factor", "must be 1 to 7 (was "
          + replicationFactor + ")");
    }
    if (maxValueBytes < 1 || maxValueBytes > MAX_VALUE_BYTES) {
      throw SynodException.invalid("max_value_bytes", "must be 1 to " + MAX_VALUE_BYTES + " (was "
          + maxValueBytes + ")");
    }
    if (maxRequestsPerSecond < 0) {
      throw SynodException.invalid("max_requests_per_second", "must be 0 (no limit) or more (was "
          + maxRequestsPerSecond + ")");
    }
  }

  /** A tenant with N=3, quorum, 1 MiB values and no rate limit. */
  public static Tenant withDefaults(String id) {
    return new Tenant(id, 3, Consistency.QUORUM, 1 << 20, 0);
  }

  /** Checks a tenant id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit. */
  public static void checkId(String field, String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw SynodException.invalid(field, "must be 1 to 64 letters, digits, '.', '_' or '-',"
          + " starting with a letter or digit (was " + (id == null ? "missing" : "'" + id + "'")
          + ")");
    }
  }
}
