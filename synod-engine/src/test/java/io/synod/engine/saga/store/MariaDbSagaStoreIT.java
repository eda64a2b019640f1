package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestMariaDb;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MariaDbSagaStoreIT extends SqlSagaStoreContract {
  private static TestDatabase db;

  @BeforeAll
  static void createDatabase() {
    db = TestMariaDb.get().newDatabase();
  }

  @Override
  SagaStore openStore() {
    return SqlSagaStore.mariaDb(STORE, db.url(), db.user(), db.password(), 6);
  }

  @Override
  Connection connect() throws SQLException {
    return db.connect();
  }

  /** MariaDB compares text case-insensitively by default; barrier keys must not. */
  @Test
  void sagaIdsThatDifferInCaseHaveTheirOwnBarriers() throws Exception {
    String upper = saga.toUpperCase(java.util.Locale.ROOT);
    StepCall upperAction =
        new StepCall(upper, "reserve", StepCall.Kind.ACTION, upper + "_step_reserve", take(1),
            TIMEOUT);

    assertThat(store.apply(action(take(3)))).isEqualTo(applied());
    assertThat(store.apply(upperAction)).isEqualTo(applied());
    assertThat(stock()).isEqualTo(STOCK - 4);
    assertThat(barrier(upper, "reserve")).isEqualTo(Map.of("action", "action"));
  }
}
