package io.synod.kv.idempotency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.engine.testing.TestRedis;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * The contract on a real Redis ({@link TestRedis}). Redis expires keys by its own clock, so time
 * passes by sleeping; expiry on access is exact, so a sleep past the expiry suffices.
 */
class RedisIdempotencyStoreIT extends IdempotencyStoreContract {

  @Override
  IdempotencyStore openStore(Duration lease) {
    return RedisIdempotencyStore.create(TestRedis.get().uri(), 16, lease);
  }

  @Override
  void pass(Duration d) throws InterruptedException {
    Thread.sleep(d.toMillis());
  }

  @Test
  void keysAreNamespacedHashesThatExpire() {
    store.claim(tenant, "k1", FP, DAY);
    store.complete(tenant, "k1", fullResponse("k1"), Duration.ofHours(1));

    try (Jedis redis = new Jedis(TestRedis.get().uri())) {
      String key = "synod:kv:idem:" + tenant + ":k1";
      assertThat(redis.type(key)).isEqualTo("hash");
      assertThat(redis.hget(key, "s")).isEqualTo("d");
      assertThat(redis.hget(key, "f")).isEqualTo(FP);
      assertThat(redis.pttl(key)).isBetween(1L, Duration.ofHours(1).toMillis());
    }
  }

  @Test
  void aForeignValueUnderTheKeyIsInternal() {
    try (Jedis redis = new Jedis(TestRedis.get().uri())) {
      redis.set("synod:kv:idem:" + tenant + ":k1", "not a hash");
      redis.hset("synod:kv:idem:" + tenant + ":k2", "s", "x");
    }

    assertThatThrownBy(() -> store.claim(tenant, "k1", FP, DAY))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL));
    assertThatThrownBy(() -> store.claim(tenant, "k2", FP, DAY))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
          assertThat(e.getMessage()).contains("synod:kv:idem:" + tenant + ":k2")
              .contains("malformed");
        });
    assertThatThrownBy(() -> store.peek(tenant, "k1"))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL));
    assertThatThrownBy(() -> store.peek(tenant, "k2"))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.getMessage()).contains("malformed"));
  }

  @Test
  void anUnreachableRedisIsUnavailable() throws Exception {
    URI nowhere = URI.create("redis://127.0.0.1:" + TestRedis.freePort());
    try (IdempotencyStore down = RedisIdempotencyStore.create(nowhere, 1)) {
      assertThatThrownBy(() -> down.claim(tenant, "k1", FP, DAY))
          .isInstanceOfSatisfying(SynodException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(e.getMessage()).contains("claim key 'k1' of tenant '" + tenant + "'");
          });
    }
  }
}
