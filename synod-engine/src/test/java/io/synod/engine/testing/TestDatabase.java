package io.synod.engine.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * A fresh, empty database on one of the embedded test servers.
 *
 * @param name the database name, {@code test_N}
 * @param url a JDBC URL to it
 * @param user a user allowed to do anything in it
 * @param password that user's password (may be empty)
 */
public record TestDatabase(String name, String url, String user, String password) {

  /** A plain, unpooled connection in autocommit mode, for test setup and checks. */
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(url, user, password);
  }
}
