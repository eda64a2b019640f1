package io.synod.engine.participant;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.spi.AbortReason;
import java.sql.SQLException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AbortClassifierTest {

  @ParameterizedTest(name = "SQLSTATE {0}, code {1} -> {2}")
  @CsvSource({
    // PostgreSQL: vendor code always 0
    "23505, 0, CONSTRAINT_VIOLATION",
    "23503, 0, CONSTRAINT_VIOLATION",
    "23502, 0, CONSTRAINT_VIOLATION",
    "40001, 0, CONFLICT",
    "40P01, 0, CONFLICT",
    "55P03, 0, LOCK_TIMEOUT",
    "57014, 0, LOCK_TIMEOUT",
    "53300, 0, RESOURCE_EXHAUSTED",
    "53100, 0, RESOURCE_EXHAUSTED",
    "08006, 0, UNAVAILABLE",
    "08001, 0, UNAVAILABLE",
    "57P01, 0, UNAVAILABLE",
    "42601, 0, INVALID_OPERATION",
    "42P01, 0, INVALID_OPERATION",
    "22P02, 0, INVALID_OPERATION",
    "22023, 0, INVALID_OPERATION",
    "07001, 0, INVALID_OPERATION",
    "42710, 0, INVALID_OPERATION",
    "XX000, 0, INVALID_OPERATION",
    // MariaDB / MySQL
    "23000, 1062, CONSTRAINT_VIOLATION",
    "40001, 1213, CONFLICT",
    "XA102, 1614, CONFLICT",
    "HY000, 1205, LOCK_TIMEOUT",
    "70100, 1969, LOCK_TIMEOUT",
    "08004, 1040, RESOURCE_EXHAUSTED",
    "42000, 1064, INVALID_OPERATION",
    "42S02, 1146, INVALID_OPERATION",
    "XAE07, 1399, INVALID_OPERATION",
    // H2: vendor code equals the SQLSTATE for standard states
    "23505, 23505, CONSTRAINT_VIOLATION",
    "HYT00, 50200, LOCK_TIMEOUT",
    "40001, 40001, CONFLICT",
    "42102, 42102, INVALID_OPERATION",
    "42001, 42001, INVALID_OPERATION",
  })
  void classifiesBySqlStateAndVendorCode(String sqlState, int code, AbortReason expected) {
    assertThat(AbortClassifier.classify(new SQLException("boom", sqlState, code)))
        .isEqualTo(expected);
  }

  @Test
  void vendorCodeWinsOverSqlState() {
    // MySQL's "too many connections" carries connection-exception class 08.
    assertThat(AbortClassifier.classify(new SQLException("Too many connections", "08004", 1040)))
        .isEqualTo(AbortReason.RESOURCE_EXHAUSTED);
  }

  @Test
  void poolTimeoutWithoutSqlStateIsUnavailable() {
    SQLException poolTimeout =
        new SQLTransientConnectionException(
            "synod-pg - Connection is not available, request timed out after 5000ms.");
    assertThat(AbortClassifier.classify(poolTimeout)).isEqualTo(AbortReason.UNAVAILABLE);
    assertThat(AbortClassifier.classify(new SQLNonTransientConnectionException("socket closed")))
        .isEqualTo(AbortReason.UNAVAILABLE);
  }

  @Test
  void statementTimeoutWithoutSqlStateIsLockTimeout() {
    assertThat(AbortClassifier.classify(new SQLTimeoutException("timed out")))
        .isEqualTo(AbortReason.LOCK_TIMEOUT);
  }

  @Test
  void unknownFailureIsInvalidOperation() {
    assertThat(AbortClassifier.classify(new SQLException("who knows")))
        .isEqualTo(AbortReason.INVALID_OPERATION);
    assertThat(AbortClassifier.classify(new SQLException("odd", "X", 0)))
        .isEqualTo(AbortReason.INVALID_OPERATION);
  }

  @Test
  void sqlStateBeatsExceptionType() {
    SQLException e = new SQLIntegrityConstraintViolationException("dup", "23000", 1062);
    assertThat(AbortClassifier.classify(e)).isEqualTo(AbortReason.CONSTRAINT_VIOLATION);
  }

  @Test
  void messageNamesStepStoreFirstLineAndSqlState() {
    SQLException e =
        new SQLException(
            "ERROR: duplicate key value violates unique constraint \"accounts_pkey\"\n"
                + "  Detail: Key (id)=(1) already exists.",
            "23505");
    assertThat(AbortClassifier.message("operations[1]", "pg", e))
        .isEqualTo(
            "operations[1] on store 'pg': ERROR: duplicate key value violates unique constraint"
                + " \"accounts_pkey\" (SQLSTATE 23505)");
  }

  @Test
  void messageShowsVendorCodeWhenItSaysMore() {
    SQLException maria = new SQLException("(conn=7) Lock wait timeout exceeded", "HY000", 1205);
    assertThat(AbortClassifier.message("operations[0]", "maria", maria))
        .endsWith(": (conn=7) Lock wait timeout exceeded (SQLSTATE HY000, error 1205)");
    SQLException h2 = new SQLException("Unique index violation", "23505", 23505);
    assertThat(AbortClassifier.message("operations[0]", "h2", h2)).endsWith("(SQLSTATE 23505)");
    SQLException bare = new SQLException("no codes");
    assertThat(AbortClassifier.message("prepare", "x", bare))
        .isEqualTo("prepare on store 'x': no codes");
  }

  @Test
  void messageDropsH2StatementTextAndCodeSuffix() {
    SQLException e =
        new SQLException(
            "Unique index or primary key violation: \"PUBLIC.PK ON PUBLIC.ACCOUNTS(ID)\";"
                + " SQL statement:\nINSERT INTO accounts VALUES (?) [23505-232]",
            "23505",
            23505);
    assertThat(AbortClassifier.message("operations[2]", "h2", e))
        .isEqualTo(
            "operations[2] on store 'h2': Unique index or primary key violation:"
                + " \"PUBLIC.PK ON PUBLIC.ACCOUNTS(ID)\" (SQLSTATE 23505)");
    assertThat(AbortClassifier.firstLine("Transaction \"g\" not found [90129-232]"))
        .isEqualTo("Transaction \"g\" not found");
  }

  @Test
  void messageIsBounded() {
    String longMessage = "x".repeat(5_000);
    assertThat(AbortClassifier.firstLine(longMessage))
        .hasSize(AbortClassifier.MESSAGE_LENGTH_MAX)
        .endsWith("...");
    assertThat(AbortClassifier.firstLine(null)).isEqualTo("(no message)");
  }
}
