package io.synod.engine.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import io.synod.engine.saga.store.LocalHandlers;
import io.synod.engine.saga.store.RedisSagaStore;
import io.synod.engine.saga.store.SqlSagaStore;
import io.synod.engine.saga.store.StepResult;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestMariaDb;
import io.synod.engine.testing.TestPostgres;
import io.synod.engine.testing.TestRedis;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Orchestrated sagas on a real single-node log over real PostgreSQL, Redis and MariaDB: an order
 * is recorded in PostgreSQL, its item's stock taken in Redis, and the payment inserted in MariaDB.
 * A saga that completes leaves all three; one whose payment fails leaves every store as it was.
 */
class SagaOrchestrationIT {
  private static final RetryPolicy QUICK =
      new RetryPolicy(3, RetryPolicy.Backoff.EXPONENTIAL, Duration.ofMillis(50),
          Duration.ofMillis(200));

  @TempDir static Path dir;
  static TestDatabase orders;
  static TestDatabase payments;
  static SynodNode node;
  static Jedis redis;
  static final List<Long> flakyTriesNanos = new CopyOnWriteArrayList<>();
  static final AtomicInteger flakyFailuresLeft = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    orders = TestPostgres.get().newDatabase();
    payments = TestMariaDb.get().newDatabase();
    try (Connection c = orders.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, item TEXT NOT NULL)");
    }
    try (Connection c = payments.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE payments (id VARCHAR(64) PRIMARY KEY,"
          + " amount BIGINT NOT NULL CHECK (amount > 0))");
    }
    redis = new Jedis(TestRedis.get().uri());
    LocalHandlers locals = new LocalHandlers().register("flaky", call -> {
      flakyTriesNanos.add(System.nanoTime());
      return flakyFailuresLeft.getAndDecrement() > 0
          ? new StepResult.Failed(true, "flaky: not yet") : new StepResult.Applied();
    }, null);
    node = SynodNode.builder(LogConfig.singleNode("sagas", dir.resolve("log"),
            LogConfig.freeLoopbackPort()))
        .sagaStores(List.of(
            SqlSagaStore.postgres("orders", orders.url(), orders.user(), orders.password(), 4),
            RedisSagaStore.create("stock", TestRedis.get().uri(), 4),
            SqlSagaStore.mariaDb("payments", payments.url(), payments.user(),
                payments.password(), 4)))
        .localHandlers(locals)
        .sagas(SagaConfig.DEFAULTS.withCompensationRetryEvery(Duration.ofMillis(200)))
        .start();
    node.awaitLeadership(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @BeforeEach
  void stock() {
    redis.set("stock:book", "10");
  }

  /** Order in PostgreSQL, stock in Redis, payment in MariaDB; each with its undo. */
  private static SagaDefinition order() {
    return SagaDefinition.sequential("order")
        .step("record", new StepOperation.Sql("orders",
                "INSERT INTO orders (id, item) VALUES (?, ?)", List.of("{{saga.saga_id}}",
                "{{saga.item}}")),
            new StepOperation.Sql("orders", "DELETE FROM orders WHERE id = ?",
                List.of("{{saga.saga_id}}")), QUICK)
        .step("reserve", new StepOperation.Redis("stock", List.of("DECRBY", "stock:{{saga.item}}",
                "1")),
            new StepOperation.Redis("stock", List.of("INCRBY", "stock:{{saga.item}}", "1")), QUICK)
        .step("pay", new StepOperation.Sql("payments",
                "INSERT INTO payments (id, amount) VALUES (?, ?)", List.of("{{saga.saga_id}}",
                "{{saga.amount}}")),
            new StepOperation.Sql("payments", "DELETE FROM payments WHERE id = ?",
                List.of("{{saga.saga_id}}")), QUICK)
        .build();
  }

  @Test
  void aSagaOverPostgresRedisAndMariaDbCompletes() throws Exception {
    SagaStatus done = node.sagas().start("o-1", order(), Map.of("item", "book", "amount", 30L))
        .get(60, TimeUnit.SECONDS);

    assertThat(done.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(done.steps()).extracting(StepStatus::state).containsOnly(StepState.SUCCEEDED);
    assertThat(count(orders, "orders", "o-1")).isEqualTo(1);
    assertThat(redis.get("stock:book")).isEqualTo("9");
    assertThat(count(payments, "payments", "o-1")).isEqualTo(1);
  }

  @Test
  void aFailingThirdStepCompensatesTheFirstTwoAndEveryStoreIsAsBefore() throws Exception {
    // amount 0 breaks MariaDB's CHECK: not retryable, so the saga compensates at once
    SagaStatus done = node.sagas().start("o-2", order(), Map.of("item", "book", "amount", 0L))
        .get(60, TimeUnit.SECONDS);

    assertThat(done.state()).isEqualTo(SagaState.ABORTED);
    assertThat(done.error()).contains("pay");
    assertThat(done.steps()).extracting(StepStatus::name, StepStatus::state).containsExactly(
        org.assertj.core.groups.Tuple.tuple("record", StepState.COMPENSATED),
        org.assertj.core.groups.Tuple.tuple("reserve", StepState.COMPENSATED),
        org.assertj.core.groups.Tuple.tuple("pay", StepState.COMPENSATED));
    assertThat(count(orders, "orders", "o-2")).isZero();
    assertThat(redis.get("stock:book")).isEqualTo("10");
    assertThat(count(payments, "payments", "o-2")).isZero();
  }

  @Test
  void retriesFollowThePolicyWithGrowingDelays() throws Exception {
    flakyTriesNanos.clear();
    flakyFailuresLeft.set(3);
    RetryPolicy fourTries = new RetryPolicy(4, RetryPolicy.Backoff.EXPONENTIAL,
        Duration.ofMillis(200), Duration.ofSeconds(5));
    SagaDefinition flaky = SagaDefinition.sequential("flaky")
        .step("try", new StepOperation.Local("flaky", Map.of()), null, fourTries)
        .build();

    SagaStatus done = node.sagas().start("f-1", flaky, Map.of()).get(60, TimeUnit.SECONDS);

    assertThat(done.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(done.steps().getFirst().attempts()).isEqualTo(4);
    assertThat(flakyTriesNanos).hasSize(4);
    long first = flakyTriesNanos.get(1) - flakyTriesNanos.get(0);
    long second = flakyTriesNanos.get(2) - flakyTriesNanos.get(1);
    long third = flakyTriesNanos.get(3) - flakyTriesNanos.get(2);
    assertThat(first).as("the first pause is at least the base delay")
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
    assertThat(second).as("pauses grow").isGreaterThan(first);
    assertThat(third).as("pauses grow").isGreaterThan(second);
  }

  @Test
  void aRepeatedSagaIdReturnsTheFirstOutcomeAndRunsNothingAgain() throws Exception {
    node.sagas().start("o-3", order(), Map.of("item", "book", "amount", 5L))
        .get(60, TimeUnit.SECONDS);
    SagaStatus again = node.sagas().start("o-3", order(), Map.of("item", "book", "amount", 5L))
        .get(60, TimeUnit.SECONDS);

    assertThat(again.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(redis.get("stock:book")).isEqualTo("9");
  }

  @Test
  void aSagaNamingAnUnknownStoreOrInputIsRefusedBeforeAnythingIsLogged() {
    SagaDefinition unknownStore = SagaDefinition.sequential("bad")
        .step("x", new StepOperation.Sql("nowhere", "SELECT 1", List.of()), null).build();
    assertThatThrownBy(() -> node.sagas().start("b-1", unknownStore, Map.of()).join())
        .cause().isInstanceOf(SynodException.class)
        .hasMessageContaining("steps[0].action.store").hasMessageContaining("nowhere");
    assertThatThrownBy(() -> node.sagas().start("b-2", order(), Map.of("item", "book")).join())
        .cause().isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("amount");
    assertThat(node.sagas().status("b-1")).isEmpty();
    assertThat(node.sagas().status("b-2")).isEmpty();
  }

  private static int count(TestDatabase db, String table, String id) throws Exception {
    try (Connection c = db.connect();
        var s = c.prepareStatement("SELECT count(*) FROM " + table + " WHERE id = ?")) {
      s.setString(1, id);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }
}
