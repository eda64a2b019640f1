package io.synod.kv.idempotency;

import static io.synod.kv.idempotency.IdempotencyStore.FINGERPRINT_CHARS_MAX;
import static io.synod.kv.idempotency.IdempotencyStore.IDEMPOTENCY_KEY_CHARS_MAX;
import static io.synod.kv.idempotency.IdempotencyStore.RETENTION_MAX;

import io.synod.api.SynodException;
import io.synod.api.kv.Tenant;
import java.time.Duration;
import java.util.Objects;

/** The argument rules every {@link IdempotencyStore} applies, with the field each one names. */
final class IdempotencyChecks {
  /** The shortest lease a store accepts: below it a claim may end before its write starts. */
  static final Duration LEASE_MIN = Duration.ofMillis(10);

  private IdempotencyChecks() {}

  static void checkKey(String tenantId, String idempotencyKey) {
    Tenant.checkId("tenant_id", tenantId);
    if (idempotencyKey == null || idempotencyKey.isEmpty()
        || idempotencyKey.length() > IDEMPOTENCY_KEY_CHARS_MAX) {
      throw SynodException.invalid("idempotency_key", "must be 1 to " + IDEMPOTENCY_KEY_CHARS_MAX
          + " characters (was " + (idempotencyKey == null ? "missing"
          : idempotencyKey.length() + " characters") + ")");
    }
  }

  static void checkFingerprint(String fingerprint) {
    if (fingerprint == null || fingerprint.isEmpty()
        || fingerprint.length() > FINGERPRINT_CHARS_MAX) {
      throw SynodException.invalid("fingerprint", "must be 1 to " + FINGERPRINT_CHARS_MAX
          + " characters (was " + (fingerprint == null ? "missing"
          : fingerprint.length() + " characters") + ")");
    }
  }

  static void checkRetention(Duration retention) {
    if (retention == null || retention.toMillis() < 1 || retention.compareTo(RETENTION_MAX) > 0) {
      throw SynodException.invalid("retention", "must be 1 ms to " + RETENTION_MAX + " (was "
          + retention + ")");
    }
  }

  /** A store's lease, checked once when the store is made. */
  static Duration checkLease(Duration lease) {
    Objects.requireNonNull(lease, "lease");
    if (lease.compareTo(LEASE_MIN) < 0 || lease.compareTo(RETENTION_MAX) > 0) {
      throw SynodException.invalid("idempotency.lease", "must be " + LEASE_MIN + " to "
          + RETENTION_MAX + " (was " + lease + ")");
    }
    return lease;
  }

  /** How long a new claim holds its key: the lease, or the retention if that is shorter. */
  static Duration claimLease(Duration lease, Duration retention) {
    return lease.compareTo(retention) <= 0 ? lease : retention;
  }
}
