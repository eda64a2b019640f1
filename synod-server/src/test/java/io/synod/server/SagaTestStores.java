package io.synod.server;

import io.synod.server.config.ServerConfig;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Two H2 stores for the saga tests, {@code left} and {@code right}, each with a table {@code
 * ledger (id, amount)}; the right one refuses an amount over 100 (a CHECK constraint), which
 * makes a saga's second step fail for good. Every server of a test opens the same files.
 */
public final class SagaTestStores {
  public static final String TRANSFER_SQL = "INSERT INTO ledger (id, amount) VALUES (?, ?)";
  public static final String UNDO_SQL = "DELETE FROM ledger WHERE id = ?";

  private final Path dir;

  private SagaTestStores(Path dir) {
    this.dir = dir;
  }

  /** Creates the two databases under {@code dir}. */
  public static SagaTestStores create(Path dir) throws SQLException {
    SagaTestStores stores = new SagaTestStores(dir);
    stores.execute("left", "CREATE TABLE ledger (id VARCHAR(200) PRIMARY KEY,"
        + " amount BIGINT NOT NULL)");
    stores.execute("right", "CREATE TABLE ledger (id VARCHAR(200) PRIMARY KEY,"
        + " amount BIGINT NOT NULL CHECK (amount <= 100))");
    return stores;
  }

  public List<ServerConfig.Store> config() {
    return List.of(store("left"), store("right"));
  }

  private ServerConfig.Store store(String name) {
    return new ServerConfig.Store(name, ServerConfig.StoreType.H2, url(name), "sa", "", 4);
  }

  public String url(String store) {
    return "jdbc:h2:file:" + dir.resolve(store).toAbsolutePath();
  }

  /** How many rows of {@code store}'s ledger have {@code id}. */
  public int rows(String store, String id) throws SQLException {
    try (Connection c = DriverManager.getConnection(url(store), "sa", "");
        PreparedStatement s = c.prepareStatement("SELECT count(*) FROM ledger WHERE id = ?")) {
      s.setString(1, id);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private void execute(String store, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url(store), "sa", "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /**
   * A start request in the HTTP API's shape: a transfer of {@code amount} that writes a ledger
   * row named after the saga in the left store, then in the right one (over 100 fails there),
   * each undone by deleting it. Each step is tried once.
   */
  public static String transfer(String sagaId, long amount, boolean wait) {
    return transfer(sagaId, amount, wait, UNDO_SQL);
  }

  /** As {@link #transfer(String, long, boolean)}, the debit undone by {@code undoDebit}. */
  public static String transfer(String sagaId, long amount, boolean wait, String undoDebit) {
    return """
        {%s"wait": %s,
         "definition": {"name": "transfer", "steps": [
           {"name": "debit",
            "forward_operation": {"store": "left", "sql": "%s",
                                  "params": ["{{saga.saga_id}}", "{{saga.amount}}"]},
            "compensation_operation": {"store": "left", "sql": "%s",
                                       "params": ["{{saga.saga_id}}"]},
            "retry_policy": {"max_attempts": 1}},
           {"name": "credit",
            "forward_operation": {"store": "right", "sql": "%s",
                                  "params": ["{{saga.saga_id}}", "{{saga.amount}}"]},
            "compensation_operation": {"store": "right", "sql": "%s",
                                       "params": ["{{saga.saga_id}}"]},
            "retry_policy": {"max_attempts": 1}}]},
         "input": {"amount": %d}}
        """.formatted(sagaId == null ? "" : "\"saga_id\": \"" + sagaId + "\", ", wait,
        TRANSFER_SQL, undoDebit, TRANSFER_SQL, UNDO_SQL, amount);
  }
}
