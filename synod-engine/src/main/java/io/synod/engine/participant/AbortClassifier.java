package io.synod.engine.participant;

import io.synod.api.spi.AbortReason;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns a store's {@link SQLException} into the reason and message of an abort vote. Pure: no
 * store, no state, so it is tested without a database.
 *
 * <p>Order of the checks: the vendor error code first, because MySQL/MariaDB and H2 put distinct
 * failures under one SQLSTATE (lock wait timeout is {@code HY000}, too many connections is {@code
 * 08004}); then the SQLSTATE; then the exception type, which is all a pool timeout or a dropped
 * socket may carry; otherwise {@link AbortReason#INVALID_OPERATION}. PostgreSQL's vendor code is
 * always 0, H2's codes have five digits and MySQL's four, so the code table cannot mistake one
 * store's code for another's. The saga stores use it too, to tell a failure worth retrying.
 */
public final class AbortClassifier {
  /** A store message is cut to this length in an abort vote. */
  static final int MESSAGE_LENGTH_MAX = 300;

  private static final Map<Integer, AbortReason> BY_VENDOR_CODE =
      Map.ofEntries(
          Map.entry(1213, AbortReason.CONFLICT), // MySQL ER_LOCK_DEADLOCK
          Map.entry(1614, AbortReason.CONFLICT), // MySQL XA_RBDEADLOCK
          Map.entry(1205, AbortReason.LOCK_TIMEOUT), // MySQL ER_LOCK_WAIT_TIMEOUT
          Map.entry(1613, AbortReason.LOCK_TIMEOUT), // MySQL XA_RBTIMEOUT
          Map.entry(1969, AbortReason.LOCK_TIMEOUT), // MariaDB max_statement_time exceeded
          Map.entry(50200, AbortReason.LOCK_TIMEOUT), // H2 LOCK_TIMEOUT_1
          Map.entry(1040, AbortReason.RESOURCE_EXHAUSTED), // MySQL ER_CON_COUNT_ERROR
          Map.entry(1203, AbortReason.RESOURCE_EXHAUSTED), // MySQL ER_TOO_MANY_USER_CONNECTIONS
          Map.entry(1114, AbortReason.RESOURCE_EXHAUSTED), // MySQL ER_RECORD_FILE_FULL
          Map.entry(1041, AbortReason.RESOURCE_EXHAUSTED), // MySQL ER_OUT_OF_RESOURCES
          Map.entry(90108, AbortReason.RESOURCE_EXHAUSTED)); // H2 OUT_OF_MEMORY

  private static final Map<String, AbortReason> BY_SQLSTATE =
      Map.of(
          "40001", AbortReason.CONFLICT, // serialization failure; MySQL and H2 deadlock
          "40P01", AbortReason.CONFLICT, // PostgreSQL deadlock_detected
          "40002", AbortReason.CONSTRAINT_VIOLATION, // integrity constraint, at commit
          "55P03", AbortReason.LOCK_TIMEOUT, // PostgreSQL lock_not_available (lock_timeout)
          "57014", AbortReason.LOCK_TIMEOUT, // query canceled: statement timeout
          "HYT00", AbortReason.LOCK_TIMEOUT, // timeout expired
          "70100", AbortReason.LOCK_TIMEOUT, // MySQL query interrupted
          "57P01", AbortReason.UNAVAILABLE, // PostgreSQL admin_shutdown
          "57P02", AbortReason.UNAVAILABLE, // PostgreSQL crash_shutdown
          "57P03", AbortReason.UNAVAILABLE); // PostgreSQL cannot_connect_now

  private static final Map<String, AbortReason> BY_SQLSTATE_CLASS =
      Map.of(
          "23", AbortReason.CONSTRAINT_VIOLATION, // integrity constraint violation
          "40", AbortReason.CONFLICT, // transaction rollback
          "53", AbortReason.RESOURCE_EXHAUSTED, // insufficient resources
          "08", AbortReason.UNAVAILABLE, // connection exception
          "42", AbortReason.INVALID_OPERATION, // syntax error or access rule violation
          "22", AbortReason.INVALID_OPERATION, // data exception
          "07", AbortReason.INVALID_OPERATION); // dynamic SQL error: parameter count

  /** H2 ends a message with its error code and build, e.g. {@code [90129-232]}. */
  private static final Pattern H2_CODE_SUFFIX = Pattern.compile(" \\[\\d+-\\d+]$");

  private AbortClassifier() {}

  /** Why the store refused; never null. */
  public static AbortReason classify(SQLException e) {
    AbortReason reason = BY_VENDOR_CODE.get(e.getErrorCode());
    if (reason != null) {
      return reason;
    }
    reason = bySqlState(e.getSQLState());
    if (reason != null) {
      return reason;
    }
    if (e instanceof SQLTransientConnectionException
        || e instanceof SQLNonTransientConnectionException
        || e instanceof SQLRecoverableException) {
      return AbortReason.UNAVAILABLE;
    }
    if (e instanceof SQLTimeoutException) {
      return AbortReason.LOCK_TIMEOUT;
    }
    return AbortReason.INVALID_OPERATION;
  }

  private static AbortReason bySqlState(String sqlState) {
    if (sqlState == null || sqlState.length() != 5) {
      return null;
    }
    AbortReason reason = BY_SQLSTATE.get(sqlState);
    return reason != null ? reason : BY_SQLSTATE_CLASS.get(sqlState.substring(0, 2));
  }

  /**
   * The abort message: which step failed on which store, the first line of the store's message, and
   * its codes, e.g. {@code operations[1] on store 'pg': ERROR: duplicate key value violates unique
   * constraint "accounts_pkey" (SQLSTATE 23505)}.
   *
   * @param step {@code operations[i]}, or the protocol step such as {@code prepare}
   */
  public static String message(String step, String store, SQLException e) {
    return step + " on store '" + store + "': " + firstLine(e.getMessage()) + codes(e);
  }

  /** The abort message for a failure that is not a {@link SQLException}, e.g. from a driver. */
  public static String message(String step, String store, RuntimeException e) {
    return step + " on store '" + store + "': " + firstLine(e.toString());
  }

  /** The first line of a store's message, without H2's statement and code suffix, cut short. */
  public static String firstLine(String message) {
    if (message == null || message.isBlank()) {
      return "(no message)";
    }
    String line = message.strip().lines().findFirst().orElse("").strip();
    // H2 appends the statement, which may show bound values: keep only the error itself.
    if (line.endsWith("; SQL statement:")) {
      line = line.substring(0, line.length() - "; SQL statement:".length());
    }
    line = H2_CODE_SUFFIX.matcher(line).replaceFirst("");
    return line.length() <= MESSAGE_LENGTH_MAX
        ? line
        : line.substring(0, MESSAGE_LENGTH_MAX - 3) + "...";
  }

  private static String codes(SQLException e) {
    String state = e.getSQLState();
    int code = e.getErrorCode();
    boolean codeSaysMore = code > 0 && !String.valueOf(code).equals(state);
    if (state == null) {
      return codeSaysMore ? " (error " + code + ")" : "";
    }
    return codeSaysMore
        ? " (SQLSTATE " + state + ", error " + code + ")"
        : " (SQLSTATE " + state + ")";
  }
}
