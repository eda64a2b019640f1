package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.saga.StepOperation;
import io.synod.engine.testing.TestRedis;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * The contract on a real Redis ({@link TestRedis}): the stock is a counter that {@code INCRBY}
 * moves; the refused operation is {@code INCRBY} on a list ({@code WRONGTYPE}).
 */
class RedisSagaStoreIT extends SagaStoreContract {
  private static final AtomicInteger TESTS = new AtomicInteger();

  private String stockKey;
  private String listKey;
  private Jedis redis;

  @Override
  void resetData() {
    int test = TESTS.incrementAndGet();
    stockKey = "stock:" + test;
    listKey = "list:" + test;
    redis = new Jedis(TestRedis.get().uri());
    redis.set(stockKey, String.valueOf(STOCK));
    redis.rpush(listKey, "x");
  }

  @AfterEach
  void closeClient() {
    redis.close();
  }

  @Override
  SagaStore openStore() {
    return RedisSagaStore.create("cache", TestRedis.get().uri(), 8);
  }

  @Override
  StepOperation take(int n) {
    return new StepOperation.Redis("cache", List.of("INCRBY", stockKey, String.valueOf(-n)));
  }

  @Override
  StepOperation giveBack(int n) {
    return new StepOperation.Redis("cache", List.of("INCRBY", stockKey, String.valueOf(n)));
  }

  @Override
  StepOperation invalid() {
    return new StepOperation.Redis("cache", List.of("INCRBY", listKey, "1"));
  }

  @Override
  long stock() {
    return Long.parseLong(redis.get(stockKey));
  }

  @Override
  Map<String, String> barrier(String sagaId, String step) {
    Map<String, String> values = new HashMap<>();
    for (String op : List.of("action", "compensation")) {
      String value = redis.get(RedisSagaStore.barrierKey(sagaId, step, op));
      if (value != null) {
        values.put(op, value);
      }
    }
    return values;
  }

  @Test
  void barrierKeysExpireAfterAWeek() {
    assertThat(store.apply(action(take(3)))).isEqualTo(applied());

    long ttlSeconds = redis.ttl(RedisSagaStore.barrierKey(saga, "reserve", "action"));
    long weekSeconds = RedisSagaStore.BARRIER_TTL.toSeconds();
    assertThat(ttlSeconds).isBetween(weekSeconds - 60, weekSeconds);
  }

  @Test
  void wrongTypeNamesTheServersError() {
    StepResult result = store.apply(action(invalid()));

    assertThat(result)
        .isInstanceOfSatisfying(
            StepResult.Failed.class,
            failed -> assertThat(failed.reason()).contains("WRONGTYPE"));
  }

  /**
   * A try that times out while the server is busy may still run once the server gets to it; the
   * retry then finds its barrier. Either way the stock moves once.
   */
  @Test
  void timedOutTryIsRetryableAndTheRetryAppliesAtMostOnce() throws Exception {
    // A pooled connection, and the script loaded, before the server is busy.
    StepOperation read = new StepOperation.Redis("cache", List.of("GET", stockKey));
    assertThat(store.apply(new StepCall(saga, "warm", StepCall.Kind.ACTION, "k", read, TIMEOUT)))
        .isEqualTo(applied());
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (Jedis busy = new Jedis(TestRedis.get().uri())) {
      Future<Object> spin = pool.submit(() -> busy.eval(SPIN_SCRIPT, 0, "700"));
      Thread.sleep(100);

      StepResult timedOut = store.apply(action(take(3), Duration.ofMillis(200)));

      assertThat(timedOut)
          .isInstanceOfSatisfying(
              StepResult.Failed.class, failed -> assertThat(failed.retryable()).isTrue());
      spin.get();
    } finally {
      pool.shutdownNow();
    }
    assertThat(store.apply(action(take(3)))).isIn(applied(), alreadyApplied());
    assertThat(stock()).isEqualTo(STOCK - 3);
  }

  /** Keeps the server busy for ARGV[1] milliseconds. */
  private static final String SPIN_SCRIPT = """
      local start = redis.call('TIME')
      local limit = tonumber(ARGV[1]) * 1000
      while true do
        local now = redis.call('TIME')
        if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > limit then
          return 'done'
        end
      end
      """;

  @Test
  void unreachableServerIsRetryable() throws Exception {
    URI nowhere = URI.create("redis://127.0.0.1:" + TestRedis.freePort());
    try (SagaStore unreachable = RedisSagaStore.create("down", nowhere, 1)) {
      assertThat(unreachable.apply(action(take(3))))
          .isInstanceOfSatisfying(
              StepResult.Failed.class,
              failed -> {
                assertThat(failed.retryable()).isTrue();
                assertThat(failed.reason()).startsWith("action of step 'reserve' on store 'down'");
              });
    }
  }

  @Test
  void serverErrorsThatPassAreRetryableOthersNot() {
    assertThat(RedisSagaStore.isRetryable(new JedisDataException("BUSY Redis is busy"))).isTrue();
    assertThat(RedisSagaStore.isRetryable(new JedisDataException("LOADING loading the dataset")))
        .isTrue();
    assertThat(RedisSagaStore.isRetryable(new JedisDataException("OOM command not allowed")))
        .isTrue();
    assertThat(RedisSagaStore.isRetryable(new JedisDataException("READONLY replica"))).isTrue();
    assertThat(RedisSagaStore.isRetryable(new JedisDataException("WRONGTYPE Operation")))
        .isFalse();
    assertThat(RedisSagaStore.isRetryable(new JedisDataException("ERR not an integer")))
        .isFalse();
  }
}
