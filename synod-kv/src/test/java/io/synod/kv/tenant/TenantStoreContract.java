package io.synod.kv.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.Tenant;
import io.synod.engine.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the {@link JdbcTenantStore} must do on every database it supports, run once per database
 * by the subclasses, each test on a fresh, empty database.
 */
@Timeout(60)
abstract class TenantStoreContract {
  private static final Tenant ACME = new Tenant("acme", 3, Consistency.QUORUM, 1 << 20, 0);

  /** A fresh, empty database. */
  abstract TestDatabase newDatabase();

  TestDatabase db;
  JdbcTenantStore store;
  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @BeforeEach
  void openStore() {
    db = newDatabase();
    store = JdbcTenantStore.open(db.url(), db.user(), db.password(), 4);
    closeLater.add(store);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
  }

  HikariDataSource pool() {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.url());
    config.setUsername(db.user());
    config.setPassword(db.password());
    config.setMaximumPoolSize(4);
    HikariDataSource pool = new HikariDataSource(config);
    closeLater.add(pool);
    return pool;
  }

  @Test
  void createdTenantReadsBackWithItsSettings() {
    Tenant created = store.create(new Tenant("t1", 5, Consistency.ALL, 4096, 250));

    assertThat(created).isEqualTo(new Tenant("t1", 5, Consistency.ALL, 4096, 250));
    assertThat(store.get("t1")).contains(created);
    assertThat(store.get("t2")).isEmpty();
  }

  @Test
  void createOfATakenIdIsAlreadyExistsNamingTheTenant() {
    store.create(ACME);

    assertThatThrownBy(() -> store.create(Tenant.withDefaults("acme")))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS);
          assertThat(e.field()).contains("tenant_id");
          assertThat(e.getMessage()).contains("'acme'").contains("already exists");
        });
    assertThat(store.get("acme")).contains(ACME);
  }

  @Test
  void updateReplacesTheSettingsAndOfAMissingTenantIsNotFound() {
    store.create(ACME);
    Tenant changed = new Tenant("acme", 1, Consistency.ONE, 512, 10);

    assertThat(store.update(changed)).isEqualTo(changed);
    assertThat(store.get("acme")).contains(changed);
    assertThatThrownBy(() -> store.update(Tenant.withDefaults("nobody")))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
          assertThat(e.field()).contains("tenant_id");
          assertThat(e.getMessage()).contains("'nobody'").contains("create it");
        });
    assertThat(store.get("nobody")).isEmpty();
  }

  @Test
  void listIsSortedByIdTheSameOnEveryDatabase() {
    for (String id : List.of("b", "a-1", "A", "a.2", "a_1", "Z9", "a")) {
      store.create(Tenant.withDefaults(id));
    }

    assertThat(store.list()).extracting(Tenant::id)
        .containsExactly("A", "Z9", "a", "a-1", "a.2", "a_1", "b");
  }

  @Test
  void deleteRemovesTheTenantAndSaysWhetherThereWasOne() {
    store.create(ACME);
    store.create(Tenant.withDefaults("other"));

    assertThat(store.delete("acme")).isTrue();
    assertThat(store.delete("acme")).isFalse();
    assertThat(store.get("acme")).isEmpty();
    assertThat(store.list()).extracting(Tenant::id).containsExactly("other");
    store.create(ACME); // the id is free again
    assertThat(store.get("acme")).contains(ACME);
  }

  @Test
  void malformedIdsAreRefusedNamingTheField() {
    assertThatThrownBy(() -> store.get("bad id"))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
          assertThat(e.field()).contains("tenant_id");
        });
    assertThatThrownBy(() -> store.delete("")).isInstanceOf(SynodException.class)
        .hasMessageStartingWith("tenant_id: ");
    assertThatThrownBy(() -> store.removeNode("n:1")).isInstanceOf(SynodException.class)
        .hasMessageStartingWith("node_id: ");
  }

  @Test
  void nodesArePutReplacedListedByIdAndRemoved() {
    store.putNode(new NodeRecord("node-b", "10.0.0.2:7000", NodeRecord.JOINING, "1,2"));
    store.putNode(new NodeRecord("node-a", "10.0.0.1:7000", NodeRecord.ACTIVE, "1,2"));

    assertThat(store.nodes()).containsExactly(
        new NodeRecord("node-a", "10.0.0.1:7000", NodeRecord.ACTIVE, "1,2"),
        new NodeRecord("node-b", "10.0.0.2:7000", NodeRecord.JOINING, "1,2"));

    store.putNode(new NodeRecord("node-b", "10.0.0.3:7001", NodeRecord.ACTIVE, "1,2"));
    assertThat(store.nodes()).containsExactly(
        new NodeRecord("node-a", "10.0.0.1:7000", NodeRecord.ACTIVE, "1,2"),
        new NodeRecord("node-b", "10.0.0.3:7001", NodeRecord.ACTIVE, "1,2"));

    assertThat(store.removeNode("node-a")).isTrue();
    assertThat(store.removeNode("node-a")).isFalse();
    assertThat(store.nodes()).extracting(NodeRecord::id).containsExactly("node-b");
  }

  @Test
  void migratingAgainChangesNothing() throws Exception {
    store.create(ACME);
    store.putNode(new NodeRecord("n1", "h:1", NodeRecord.ACTIVE, "1,2"));

    try (JdbcTenantStore again = JdbcTenantStore.open(db.url(), db.user(), db.password(), 2)) {
      assertThat(again.get("acme")).contains(ACME);
      assertThat(again.nodes()).extracting(NodeRecord::id).containsExactly("n1");
    }
    new JdbcTenantStore(pool());
    assertThat(schemaVersion()).isEqualTo(TenantSchema.VERSION);
  }

  @Test
  void coordinatorsStartingTogetherMigrateOnce() throws Exception {
    db = newDatabase(); // nothing migrated yet
    int starters = 4;
    ExecutorService threads = Executors.newFixedThreadPool(starters);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<JdbcTenantStore>> started = new ArrayList<>();
      for (int i = 0; i < starters; i++) {
        started.add(threads.submit(() -> {
          go.await();
          return JdbcTenantStore.open(db.url(), db.user(), db.password(), 2);
        }));
      }
      go.countDown();
      for (Future<JdbcTenantStore> f : started) {
        closeLater.add(f.get());
      }
    } finally {
      threads.shutdownNow();
    }

    assertThat(schemaVersion()).isEqualTo(TenantSchema.VERSION);
    JdbcTenantStore any = (JdbcTenantStore) closeLater.getLast();
    any.create(ACME);
    assertThat(any.list()).containsExactly(ACME);
  }

  @Test
  void updateKeepsCreatedAtAndMovesUpdatedAt() throws Exception {
    Instant created = Instant.parse("2026-01-01T00:00:00Z");
    Instant updated = Instant.parse("2026-01-02T12:30:00Z");
    HikariDataSource pool = pool();
    new JdbcTenantStore(pool, Clock.fixed(created, ZoneOffset.UTC)).create(ACME);
    new JdbcTenantStore(pool, Clock.fixed(updated, ZoneOffset.UTC))
        .update(new Tenant("acme", 1, Consistency.ONE, 1, 1));

    try (Connection c = db.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT created_at, updated_at FROM synod_kv_tenants WHERE tenant_id = 'acme'")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getObject(1, OffsetDateTime.class).toInstant()).isEqualTo(created);
      assertThat(rs.getObject(2, OffsetDateTime.class).toInstant()).isEqualTo(updated);
    }
  }

  @Test
  void aRowWrittenByHandThatBreaksTheRulesIsInternalNotInvalidArgument() throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO synod_kv_tenants VALUES ('broken', 0, 'quorum', 10, 0,"
          + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)");
    }

    assertThatThrownBy(() -> store.get("broken"))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
          assertThat(e.getMessage()).contains("'broken'").contains("replication_factor");
        });
  }

  @Test
  void anUnreachableDatabaseIsUnavailable() {
    store.close();

    assertThatThrownBy(() -> store.get("acme"))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
          assertThat(e.getMessage()).contains("read tenant 'acme'");
        });
  }

  private int schemaVersion() throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT version FROM synod_kv_schema WHERE id = 1")) {
      assertThat(rs.next()).isTrue();
      int version = rs.getInt(1);
      assertThat(rs.next()).isFalse();
      return version;
    }
  }
}
