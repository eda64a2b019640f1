package io.synod.engine.saga.store;

import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.BeforeAll;

class PostgresSagaStoreIT extends SqlSagaStoreContract {
  private static TestDatabase db;

  @BeforeAll
  static void createDatabase() {
    db = TestPostgres.get().newDatabase();
  }

  @Override
  SagaStore openStore() {
    return SqlSagaStore.postgres(STORE, db.url(), db.user(), db.password(), 6);
  }

  @Override
  Connection connect() throws SQLException {
    return db.connect();
  }
}
