package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.saga.StepOperation;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The contract on a SQL store, plus what only a SQL store shows: row locks. Tables {@code
 * saga_stock} (one row, 'apple') and {@code saga_orders} (one row, id 1) are made afresh for each
 * test, and the barrier table is dropped so that each store creates it.
 */
abstract class SqlSagaStoreContract extends SagaStoreContract {
  static final String STORE = "db";

  /** A plain connection to the test's database, in autocommit mode. */
  abstract Connection connect() throws SQLException;

  @Override
  void resetData() throws Exception {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + SqlDialect.TABLE);
      s.execute("DROP TABLE IF EXISTS saga_stock");
      s.execute("DROP TABLE IF EXISTS saga_orders");
      s.execute("CREATE TABLE saga_stock (item VARCHAR(20) PRIMARY KEY, qty INT NOT NULL)");
      s.execute("CREATE TABLE saga_orders (id BIGINT PRIMARY KEY)");
      s.execute("INSERT INTO saga_stock (item, qty) VALUES ('apple', " + STOCK + ")");
      s.execute("INSERT INTO saga_orders (id) VALUES (1)");
    }
  }

  @Override
  StepOperation take(int n) {
    return new StepOperation.Sql(
        STORE, "UPDATE saga_stock SET qty = qty - ? WHERE item = ?", List.of(n, "apple"));
  }

  @Override
  StepOperation giveBack(int n) {
    return new StepOperation.Sql(
        STORE, "UPDATE saga_stock SET qty = qty + ? WHERE item = ?", List.of(n, "apple"));
  }

  /** A duplicate primary key. */
  @Override
  StepOperation invalid() {
    return new StepOperation.Sql(STORE, "INSERT INTO saga_orders (id) VALUES (?)", List.of(1L));
  }

  @Override
  long stock() throws SQLException {
    try (Connection c = connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT qty FROM saga_stock WHERE item = 'apple'")) {
      assertThat(rs.next()).isTrue();
      return rs.getLong(1);
    }
  }

  @Override
  Map<String, String> barrier(String sagaId, String step) throws SQLException {
    Map<String, String> rows = new HashMap<>();
    try (Connection c = connect()) {
      if (!barrierTableExists(c)) {
        return rows;
      }
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT op, reason FROM " + SqlDialect.TABLE + " WHERE saga_id = ? AND step = ?")) {
        ps.setString(1, sagaId);
        ps.setString(2, step);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            rows.put(rs.getString(1), rs.getString(2));
          }
        }
      }
    }
    return rows;
  }

  private static boolean barrierTableExists(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeQuery("SELECT COUNT(*) FROM " + SqlDialect.TABLE).close();
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  /** A connection holding the stock row's lock until it is closed (rolled back). */
  Connection lockStock() throws SQLException {
    Connection locker = connect();
    locker.setAutoCommit(false);
    try (Statement s = locker.createStatement()) {
      assertThat(s.executeUpdate("UPDATE saga_stock SET qty = qty WHERE item = 'apple'")).isOne();
    }
    return locker;
  }

  @Test
  void barrierRowRecordsTheIdempotencyKey() throws Exception {
    assertThat(store.apply(action(take(3)))).isEqualTo(applied());

    try (Connection c = connect();
        PreparedStatement ps = c.prepareStatement("SELECT idempotency_key, created_at FROM "
            + SqlDialect.TABLE + " WHERE saga_id = ? AND step = 'reserve' AND op = 'action'")) {
      ps.setString(1, saga);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo(saga + "_step_reserve");
        assertThat(rs.getTimestamp(2)).isNotNull();
      }
    }
  }

  @Test
  void lockTimeoutIsRetryableAndLeavesNoBarrier() throws Exception {
    try (Connection locker = lockStock()) {
      StepResult result = store.apply(action(take(3), Duration.ofSeconds(1)));

      assertThat(result)
          .isInstanceOfSatisfying(
              StepResult.Failed.class, failed -> assertThat(failed.retryable()).isTrue());
      assertThat(barrier(saga, "reserve")).isEmpty();
      locker.rollback();
    }
    assertThat(store.apply(action(take(3)))).isEqualTo(applied());
    assertThat(stock()).isEqualTo(STOCK - 3);
  }

  /**
   * Four tries of one action at once: the first to insert the barrier row waits on the held stock
   * row, the others wait on its barrier row; when the lock goes, exactly one applies.
   */
  /** As the contract's, with every try held on the stock row's lock until all have started. */
  @Test
  @Override
  void concurrentTriesOfOneActionApplyOnce() throws Exception {
    int tries = 4;
    ExecutorService pool = Executors.newFixedThreadPool(tries);
    try (Connection locker = lockStock()) {
      List<Future<StepResult>> results = new ArrayList<>();
      for (int i = 0; i < tries; i++) {
        results.add(pool.submit(() -> store.apply(action(take(3)))));
      }
      Thread.sleep(500); // every try is waiting on a lock by now
      locker.rollback();

      List<StepResult> outcomes = new ArrayList<>();
      for (Future<StepResult> f : results) {
        outcomes.add(f.get());
      }
      assertThat(outcomes).containsOnly(applied(), alreadyApplied());
      assertThat(outcomes).filteredOn(applied()::equals).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
    assertThat(stock()).isEqualTo(STOCK - 3);
  }

  /**
   * A compensation arriving while its action is still running waits for the action's barrier row
   * and then undoes the action, instead of taking it for one that never ran.
   */
  @Test
  void compensationRacingItsActionWaitsAndUndoesIt() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (Connection locker = lockStock()) {
      Future<StepResult> action = pool.submit(() -> store.apply(action(take(3))));
      Thread.sleep(300); // the action holds its barrier row and waits on the stock row
      Future<StepResult> compensation = pool.submit(() -> store.apply(compensation(giveBack(3))));
      Thread.sleep(300);
      locker.rollback();

      assertThat(action.get()).isEqualTo(applied());
      assertThat(compensation.get()).isEqualTo(applied());
    } finally {
      pool.shutdownNow();
    }
    assertThat(stock()).isEqualTo(STOCK);
  }
}
