package io.synod.kv.tenant;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import com.github.benmanes.caffeine.cache.stats.StatsCounter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvService;
import io.synod.api.kv.Tenant;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Tenant settings as a coordinator reads them on every request: from memory for {@link
 * Config#ttl()} (spec 004: 5 minutes, at most 10,000 tenants), else from the {@link TenantStore}.
 *
 * <p>A tenant that does not exist is remembered as missing for the shorter {@link
 * Config#missingTtl()}, so that a flood of requests for a bad id costs one query a second, not one
 * each. Changes made through this cache ({@link #create}, {@link #update}, {@link #delete}) drop
 * the entry, so this coordinator sees them at once; other coordinators see them when their entry
 * expires. Caffeine makes an invalidation wait for a load of the same id in flight, so a load that
 * read the old row cannot put it back after the change.
 *
 * <p>Counts lookups into Micrometer counters {@code coordinator_cache_hits} and {@code
 * coordinator_cache_misses} (Prometheus: {@code coordinator_cache_hits_total}, {@code
 * coordinator_cache_misses_total}, the names of spec 004) and entries dropped for size into {@code
 * coordinator_cache_evictions}, each tagged {@code cache="tenant"}. A lookup of a remembered
 * missing tenant is a hit.
 */
public final class TenantCache implements KvService.Tenants {
  /** Meter names; Prometheus appends {@code _total} to counters. */
  static final String HITS = "coordinator_cache_hits";
  static final String MISSES = "coordinator_cache_misses";
  static final String EVICTIONS = "coordinator_cache_evictions";
  static final String CACHE_TAG = "cache";
  static final String CACHE_NAME = "tenant";

  /**
   * How long and how many tenants are kept.
   *
   * @param ttl how long a tenant's settings are served from memory after they were read
   *     ({@code cache.tenant_config_ttl})
   * @param maxSize the most tenants kept, found or missing ({@code cache.max_size})
   * @param missingTtl how long a tenant found missing is remembered as missing ({@code
   *     cache.missing_tenant_ttl}); short, since a tenant created through another coordinator is
   *     refused here for that long
   */
  public record Config(Duration ttl, long maxSize, Duration missingTtl) {
    public static final Duration TTL_DEFAULT = Duration.ofMinutes(5);
    public static final long MAX_SIZE_DEFAULT = 10_000;
    public static final Duration MISSING_TTL_DEFAULT = Duration.ofSeconds(1);
    /** Beyond this, a change to a tenant takes too long to reach every coordinator. */
    public static final Duration TTL_MAX = Duration.ofHours(1);
    public static final long MAX_SIZE_MAX = 10_000_000;

    public Config {
      checkTtl("cache.tenant_config_ttl", ttl);
      checkTtl("cache.missing_tenant_ttl", missingTtl);
      if (maxSize < 1 || maxSize > MAX_SIZE_MAX) {
        throw SynodException.invalid("cache.max_size", "must be 1 to " + MAX_SIZE_MAX + " (was "
            + maxSize + ")");
      }
    }

    /** Spec 004's settings: 5 minutes, 10,000 tenants; missing tenants for 1 second. */
    public static Config defaults() {
      return new Config(TTL_DEFAULT, MAX_SIZE_DEFAULT, MISSING_TTL_DEFAULT);
    }

    private static void checkTtl(String key, Duration ttl) {
      if (ttl == null || ttl.isNegative() || ttl.isZero() || ttl.compareTo(TTL_MAX) > 0) {
        throw SynodException.invalid(key, "must be more than 0 and at most " + TTL_MAX + " (was "
            + ttl + ")");
      }
    }
  }

  private final TenantStore store;
  private final Cache<String, Optional<Tenant>> cache;

  /** A cache with spec 004's settings, on the system ticker. */
  public TenantCache(TenantStore store, MeterRegistry registry) {
    this(store, registry, Config.defaults(), Ticker.systemTicker());
  }

  /** A cache with these settings; {@code ticker} is its time source (nanoseconds). */
  public TenantCache(TenantStore store, MeterRegistry registry, Config config, Ticker ticker) {
    this.store = Objects.requireNonNull(store, "store");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(ticker, "ticker");
    MeterStats stats = new MeterStats(registry);
    this.cache = Caffeine.newBuilder()
        .maximumSize(config.maxSize())
        .expireAfter(Expiry.<String, Optional<Tenant>>writing(
            (id, found) -> found.isPresent() ? config.ttl() : config.missingTtl()))
        .ticker(ticker)
        // Maintenance (expiry, eviction) on the caller's thread: cheap, and deterministic.
        .executor(Runnable::run)
        .recordStats(() -> stats)
        .build();
  }

  /**
   * The tenant's settings, for a request naming it. INVALID_ARGUMENT for a malformed id, NOT_FOUND
   * (field {@code tenant_id}) if there is no such tenant.
   */
  public Tenant require(String tenantId) {
    return get(tenantId).orElseThrow(() -> new SynodException(ErrorCode.NOT_FOUND, "tenant_id",
        "no tenant '" + tenantId + "'; create it (with its replication factor, consistency and"
            + " quotas) through the tenant administration API before using its keys"));
  }

  /** The tenant's settings, from memory if they were read lately; INVALID_ARGUMENT if malformed. */
  @Override
  public Optional<Tenant> get(String tenantId) {
    Tenant.checkId("tenant_id", tenantId);
    return cache.get(tenantId, store::get);
  }

  @Override
  public Tenant create(Tenant tenant) {
    try {
      return store.create(tenant);
    } finally {
      invalidate(tenant);
    }
  }

  @Override
  public Tenant update(Tenant tenant) {
    try {
      return store.update(tenant);
    } finally {
      invalidate(tenant);
    }
  }

  /** Every tenant, from the store (not cached: administration, not the request path). */
  @Override
  public List<Tenant> list() {
    return store.list();
  }

  @Override
  public boolean delete(String tenantId) {
    try {
      return store.delete(tenantId);
    } finally {
      if (tenantId != null) {
        cache.invalidate(tenantId);
      }
    }
  }

  /** Forgets every cached tenant, e.g. after the tenant table was changed by hand. */
  public void invalidateAll() {
    cache.invalidateAll();
  }

  /** Entries held now, found and missing, after pending evictions ran; for tests. */
  long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  /**
   * Drops the entry even when the write failed: a failure may have come after the commit (the
   * answer lost on the way), and a dropped entry costs only a read.
   */
  private void invalidate(Tenant tenant) {
    if (tenant != null) {
      cache.invalidate(tenant.id());
    }
  }

  /** Caffeine's statistics, counted into Micrometer rather than kept. */
  private static final class MeterStats implements StatsCounter {
    private final Counter hits;
    private final Counter misses;
    private final Counter evictions;

    MeterStats(MeterRegistry registry) {
      this.hits = Counter.builder(HITS)
          .description("Tenant lookups answered from the coordinator's cache")
          .tag(CACHE_TAG, CACHE_NAME).register(registry);
      this.misses = Counter.builder(MISSES)
          .description("Tenant lookups that read the tenant store")
          .tag(CACHE_TAG, CACHE_NAME).register(registry);
      this.evictions = Counter.builder(EVICTIONS)
          .description("Tenants dropped from the coordinator's cache to stay within its size")
          .tag(CACHE_TAG, CACHE_NAME).register(registry);
    }

    @Override
    public void recordHits(int count) {
      hits.increment(count);
    }

    @Override
    public void recordMisses(int count) {
      misses.increment(count);
    }

    @Override
    public void recordLoadSuccess(long loadTimeNanos) {}

    @Override
    public void recordLoadFailure(long loadTimeNanos) {}

    @Override
    public void recordEviction(int weight, RemovalCause cause) {
      if (cause == RemovalCause.SIZE) {
        evictions.increment();
      }
    }

    @Override
    public CacheStats snapshot() {
      return CacheStats.of((long) hits.count(), (long) misses.count(), 0, 0, 0,
          (long) evictions.count(), (long) evictions.count());
    }
  }
}
