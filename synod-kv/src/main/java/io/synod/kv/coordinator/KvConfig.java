package io.synod.kv.coordinator;

import io.synod.api.SynodException;
import io.synod.core.kv.HashRing;
import io.synod.kv.idempotency.IdempotencyStore;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * A KV coordinator's settings (spec 004's {@code hash_ring}, {@code consistency} and {@code cache}
 * blocks).
 *
 * @param coordinatorId this coordinator's name in vector clocks; each coordinator needs its own
 * @param virtualNodes points per storage node on the ring (150)
 * @param writeTimeout how long a write waits for its acknowledgements (5 s)
 * @param readTimeout how long a read waits for its replicas (3 s)
 * @param repairAsync repair stale replicas after answering (true) or before (false)
 * @param tenantCacheTtl how long a tenant's settings are cached (5 min)
 * @param tenantCacheSize tenants kept in the cache (10,000)
 * @param idempotencyRetention how long a write's idempotency key is remembered (24 h)
 * @param ringRefresh how often the membership is read again, and how long a membership change
 *     waits for every coordinator to have seen it before it moves keys (30 s)
 */
public record KvConfig(String coordinatorId, int virtualNodes, Duration writeTimeout,
    Duration readTimeout, boolean repairAsync, Duration tenantCacheTtl, int tenantCacheSize,
    Duration idempotencyRetention, Duration ringRefresh) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  public KvConfig {
    if (coordinatorId == null || !ID.matcher(coordinatorId).matches()) {
      throw SynodException.invalid("kv.coordinator_id", "must be 1 to 64 letters, digits, '.', '_'"
          + " or '-' (was " + coordinatorId + ")");
    }
    if (virtualNodes < 1 || virtualNodes > 10_000) {
      throw SynodException.invalid("kv.virtual_nodes", "must be 1 to 10000 (was " + virtualNodes
          + ")");
    }
    positive("kv.write_timeout", writeTimeout);
    positive("kv.read_timeout", readTimeout);
    positive("kv.tenant_cache_ttl", tenantCacheTtl);
    positive("kv.idempotency_retention", idempotencyRetention);
    if (idempotencyRetention.compareTo(IdempotencyStore.RETENTION_MAX) > 0) {
      throw SynodException.invalid("kv.idempotency_retention", "must be at most "
          + IdempotencyStore.RETENTION_MAX.toDays() + " days (was " + idempotencyRetention + ")");
    }
    positive("kv.ring_refresh", ringRefresh);
    if (tenantCacheSize < 1) {
      throw SynodException.invalid("kv.tenant_cache_size", "must be at least 1 (was "
          + tenantCacheSize + ")");
    }
  }

  /** Spec 004's defaults, under this coordinator id. */
  public static KvConfig defaults(String coordinatorId) {
    return new KvConfig(coordinatorId, HashRing.DEFAULT_VIRTUAL_NODES, Duration.ofSeconds(5),
        Duration.ofSeconds(3), true, Duration.ofMinutes(5), 10_000, Duration.ofHours(24),
        Duration.ofSeconds(30));
  }

  public KvConfig withRingRefresh(Duration refresh) {
    return new KvConfig(coordinatorId, virtualNodes, writeTimeout, readTimeout, repairAsync,
        tenantCacheTtl, tenantCacheSize, idempotencyRetention, refresh);
  }

  public KvConfig withRepairAsync(boolean async) {
    return new KvConfig(coordinatorId, virtualNodes, writeTimeout, readTimeout, async,
        tenantCacheTtl, tenantCacheSize, idempotencyRetention, ringRefresh);
  }

  public KvConfig withTimeouts(Duration write, Duration read) {
    return new KvConfig(coordinatorId, virtualNodes, write, read, repairAsync, tenantCacheTtl,
        tenantCacheSize, idempotencyRetention, ringRefresh);
  }

  private static void positive(String field, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw SynodException.invalid(field, "must be a positive duration (was " + d + ")");
    }
  }
}
