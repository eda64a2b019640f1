package io.synod.engine.saga.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.junit.jupiter.api.io.TempDir;

/** The contract on an H2 file database, one per test. */
class H2SagaStoreIT extends SqlSagaStoreContract {
  @TempDir Path dir;

  private String url() {
    return "jdbc:h2:file:" + dir.resolve("store").toAbsolutePath();
  }

  @Override
  SagaStore openStore() {
    return SqlSagaStore.h2(STORE, url(), "sa", "", 6);
  }

  @Override
  Connection connect() throws SQLException {
    return DriverManager.getConnection(url(), "sa", "");
  }
}
