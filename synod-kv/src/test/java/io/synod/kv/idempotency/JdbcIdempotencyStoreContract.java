package io.synod.kv.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.engine.testing.TestDatabase;
import io.synod.kv.idempotency.IdempotencyStore.Claim;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The contract on a SQL database, time on a {@link MutableClock}, plus what only the SQL store
 * has: purging expired rows.
 */
abstract class JdbcIdempotencyStoreContract extends IdempotencyStoreContract {
  final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));
  TestDatabase db;

  /** A fresh, empty database. */
  abstract TestDatabase newDatabase();

  @Override
  IdempotencyStore openStore(Duration lease) {
    if (db == null) {
      db = newDatabase(); // one per test: JUnit makes a new test object for each
    }
    return JdbcIdempotencyStore.open(db.url(), db.user(), db.password(), 16, clock, lease);
  }

  @Override
  void pass(Duration d) {
    clock.advance(d);
  }

  @Test
  void purgeDeletesExpiredRowsOnly() throws Exception {
    JdbcIdempotencyStore jdbc = (JdbcIdempotencyStore) store;
    store.claim(tenant, "claimed", FP, DAY);
    store.claim(tenant, "done-short", FP, DAY);
    store.complete(tenant, "done-short", fullResponse("done-short"), Duration.ofMinutes(1));
    store.claim(tenant, "done-long", FP, DAY);
    store.complete(tenant, "done-long", fullResponse("done-long"), DAY);

    assertThat(jdbc.purgeExpired(clock.instant())).isZero();
    assertThat(jdbc.purgeExpired(clock.instant().plus(Duration.ofMinutes(1))))
        .isEqualTo(2);
    assertThat(rows()).isEqualTo(1);
    assertThat(store.claim(tenant, "done-long", FP, DAY)).isInstanceOf(Claim.Done.class);
  }

  @Test
  void aScheduledPurgeRuns() throws Exception {
    JdbcIdempotencyStore jdbc = (JdbcIdempotencyStore) store;
    store.claim(tenant, "k1", FP, DAY);
    clock.advance(IdempotencyStore.DEFAULT_LEASE);
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    try {
      jdbc.schedulePurge(executor, Duration.ofMillis(10));
      long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (rows() > 0 && System.nanoTime() < deadlineNs) {
        Thread.sleep(10);
      }
      assertThat(rows()).isZero();
    } finally {
      executor.shutdownNow();
    }
  }

  private int rows() throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM synod_kv_idempotency")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
