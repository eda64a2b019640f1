package io.synod.api.saga;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a saga step (or its compensation) does in one store. Values may name the saga's input as
 * {@code {{saga.NAME}}} (and {@code {{saga.saga_id}}}): a value that is exactly one placeholder
 * takes the input's value with its type; a placeholder inside a longer text is replaced by the
 * value's text. The store records the step's idempotency key in the same local transaction as
 * the effect, so a step applies at most once however often it is retried.
 */
public sealed interface StepOperation {
  /** The store, as configured, that runs it; for a {@link Local} step, its handler's name. */
  String store();

  /**
   * A SQL statement with positional {@code ?} parameters (bound, never pasted into the text).
   */
  record Sql(String store, String sql, List<Object> params) implements StepOperation {
    public Sql {
      Objects.requireNonNull(store, "store");
      Objects.requireNonNull(sql, "sql");
      params = params == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(params));
    }
  }

  /** A Redis command, e.g. {@code ["INCRBY", "stock:{{saga.item}}", "-1"]}. */
  record Redis(String store, List<String> command) implements StepOperation {
    public Redis {
      Objects.requireNonNull(store, "store");
      command = List.copyOf(command);
    }
  }

  /**
   * A step of the application's own, run in-process by the handler registered under {@code
   * store} (a Java lambda; it must be idempotent under the step's idempotency key, which it is
   * given). Only an embedded engine can run it.
   */
  record Local(String store, Map<String, String> args) implements StepOperation {
    public Local {
      Objects.requireNonNull(store, "store");
      args = args == null ? Map.of() : Map.copyOf(args);
    }
  }
}
