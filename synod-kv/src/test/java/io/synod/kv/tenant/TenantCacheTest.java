package io.synod.kv.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.Tenant;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The cache on an in-memory store, its time driven by a hand-moved ticker. */
class TenantCacheTest {
  private static final Tenant ACME = Tenant.withDefaults("acme");

  private final InMemoryTenantStore store = new InMemoryTenantStore();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicLong nanos = new AtomicLong();
  private final TenantCache cache =
      new TenantCache(store, registry, TenantCache.Config.defaults(), nanos::get);

  @Test
  void aRepeatedLookupIsAHitAndReadsTheStoreOnce() {
    store.create(ACME);

    assertThat(cache.require("acme")).isEqualTo(ACME);
    assertThat(counters()).containsExactly(0, 1);
    assertThat(cache.require("acme")).isEqualTo(ACME);
    assertThat(cache.get("acme")).contains(ACME);

    assertThat(counters()).containsExactly(2, 1);
    assertThat(store.reads).hasValue(1);
  }

  @Test
  void anEntryExpiresAfterTheTtl() {
    store.create(ACME);
    cache.require("acme");
    Tenant changedElsewhere = new Tenant("acme", 1, Consistency.ONE, 10, 0);
    store.update(changedElsewhere); // by another coordinator: this cache does not know

    advance(Duration.ofMinutes(5).minusNanos(1));
    assertThat(cache.require("acme")).isEqualTo(ACME);
    advance(Duration.ofNanos(1));
    assertThat(cache.require("acme")).isEqualTo(changedElsewhere);

    assertThat(store.reads).hasValue(2);
    assertThat(counters()).containsExactly(1, 2);
  }

  @Test
  void aMissingTenantIsNotFoundNamingTheFieldAndIsRememberedBriefly() {
    for (int i = 0; i < 100; i++) {
      assertThatThrownBy(() -> cache.require("ghost"))
          .isInstanceOfSatisfying(SynodException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
            assertThat(e.field()).contains("tenant_id");
            assertThat(e.getMessage()).contains("'ghost'").contains("create it");
          });
    }
    assertThat(store.reads).hasValue(1);

    store.create(Tenant.withDefaults("ghost")); // by another coordinator
    advance(Duration.ofMillis(999));
    assertThat(cache.get("ghost")).isEmpty();
    advance(Duration.ofMillis(1));
    assertThat(cache.get("ghost")).contains(Tenant.withDefaults("ghost"));
    assertThat(store.reads).hasValue(2);
  }

  @Test
  void writesThroughTheCacheAreSeenAtOnce() {
    assertThat(cache.get("acme")).isEmpty(); // remembered as missing

    cache.create(ACME);
    assertThat(cache.require("acme")).isEqualTo(ACME);

    Tenant changed = new Tenant("acme", 5, Consistency.ALL, 100, 7);
    cache.update(changed);
    assertThat(cache.require("acme")).isEqualTo(changed);

    assertThat(cache.delete("acme")).isTrue();
    assertThat(cache.get("acme")).isEmpty();
    assertThat(cache.list()).isEmpty();
  }

  @Test
  void aFailedWriteStillDropsTheEntry() {
    cache.get("acme");
    store.create(ACME); // by another coordinator

    assertThatThrownBy(() -> cache.create(ACME))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS));
    assertThat(cache.get("acme")).contains(ACME);
  }

  @Test
  void aStoreFailureIsPassedOnAndNotCached() {
    store.down = true;
    assertThatThrownBy(() -> cache.require("acme"))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));

    store.down = false;
    store.create(ACME);
    assertThat(cache.require("acme")).isEqualTo(ACME);
  }

  @Test
  void aMalformedIdIsRefusedWithoutAStoreRead() {
    assertThatThrownBy(() -> cache.require("no spaces"))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
          assertThat(e.field()).contains("tenant_id");
        });
    assertThat(store.reads).hasValue(0);
    assertThat(counters()).containsExactly(0, 0);
  }

  @Test
  void theSizeIsBoundedAndEvictionsAreCounted() {
    TenantCache small = new TenantCache(store, registry,
        new TenantCache.Config(Duration.ofMinutes(5), 2, Duration.ofSeconds(1)), nanos::get);
    for (String id : new String[] {"t1", "t2", "t3", "t4"}) {
      store.create(Tenant.withDefaults(id));
      small.require(id);
    }

    assertThat(small.size()).isLessThanOrEqualTo(2);
    assertThat(registry.get(TenantCache.EVICTIONS).counter().count()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void badSettingsAreRefusedNamingTheKey() {
    Duration second = Duration.ofSeconds(1);
    assertThatThrownBy(() -> new TenantCache.Config(Duration.ZERO, 10, second))
        .hasMessageStartingWith("cache.tenant_config_ttl: ");
    assertThatThrownBy(() -> new TenantCache.Config(Duration.ofHours(2), 10, second))
        .hasMessageStartingWith("cache.tenant_config_ttl: ");
    assertThatThrownBy(() -> new TenantCache.Config(Duration.ofMinutes(5), 0, second))
        .hasMessageStartingWith("cache.max_size: ");
    assertThatThrownBy(() -> new TenantCache.Config(Duration.ofMinutes(5), 10, null))
        .hasMessageStartingWith("cache.missing_tenant_ttl: ");
    assertThat(TenantCache.Config.defaults())
        .isEqualTo(new TenantCache.Config(Duration.ofMinutes(5), 10_000, Duration.ofSeconds(1)));
  }

  @Test
  void countersCarryTheSpecNamesAndTheCacheTag() {
    cache.get("acme");

    assertThat(registry.get("coordinator_cache_hits").tag("cache", "tenant").counter().count())
        .isZero();
    assertThat(registry.get("coordinator_cache_misses").tag("cache", "tenant").counter().count())
        .isEqualTo(1);
  }

  private void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  /** Hits and misses so far. */
  private int[] counters() {
    return new int[] {
        (int) registry.get(TenantCache.HITS).counter().count(),
        (int) registry.get(TenantCache.MISSES).counter().count()};
  }
}
