package io.synod.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A SQL statement with positional {@code ?} parameters, run inside the participant's local
 * transaction. Parameters may be null, strings, numbers, booleans, byte arrays or {@code
 * java.time} values; they are always bound, never formatted into the SQL text.
 *
 * @param store the store that runs it
 * @param sql the statement, with {@code ?} placeholders
 * @param params the values bound to the placeholders, in order
 */
public record SqlOperation(String store, String sql, List<Object> params) implements Operation {
  public SqlOperation {
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(sql, "sql");
    // List.copyOf refuses nulls, and a SQL NULL is a legitimate parameter.
    params = params == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(params));
  }

  public static SqlOperation of(String store, String sql, Object... params) {
    return new SqlOperation(store, sql, java.util.Arrays.asList(params));
  }
}
