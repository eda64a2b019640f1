package io.synod.api.saga;

import io.synod.api.SynodException;
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
  /**
   * The store, as configured, that runs it; for a {@link Local} step, its handler's name; for a
   * {@link Kv} step, the key-value store's name as sagas see it ({@code kv}).
   */
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

  /**
   * A write (or a delete) of one key of the server's replicated key-value store, which sagas see
   * as the store named {@code store} ({@code kv}). The key-value store has no transaction over
   * several keys, so the step's barrier is not a row next to the effect but the step's
   * idempotency key in the store's own idempotency records: the write carries it, and a
   * compensation first fences the action's key there (see the server's {@code KvSagaStore}).
   *
   * <p>Placeholders may stand in the tenant, the key and the value. Errors name the field as the
   * operation has it: {@code store}, {@code tenant_id}, {@code key}, {@code value}.
   *
   * @param tenantId the key's tenant. A compensation looks for its action's barrier in its own
   *     tenant, so a step's action and compensation must name the same one ({@link
   *     SagaDefinition} checks it)
   * @param key the key: at most 1024 bytes in UTF-8 once its placeholders are filled
   * @param value the value, written as its UTF-8 bytes; null exactly when {@code delete}
   * @param delete write a tombstone (the key reads as absent) instead of a value
   */
  record Kv(String store, String tenantId, String key, String value, boolean delete)
      implements StepOperation {
    public Kv {
      if (store == null || store.isBlank()) {
        throw SynodException.invalid("store", "is required: the key-value store's name, kv");
      }
      if (tenantId == null || tenantId.isEmpty()) {
        throw SynodException.invalid("tenant_id", "is required: the tenant whose key is written");
      }
      if (key == null || key.isEmpty()) {
        throw SynodException.invalid("key", "is required: the key to write or delete");
      }
      if (delete && value != null) {
        throw SynodException.invalid("value", "must be absent when delete is true: a delete"
            + " writes no value");
      }
      if (!delete && value == null) {
        throw SynodException.invalid("value", "is required unless delete is true");
      }
    }

    /** A write of {@code value} (text, written as UTF-8) to {@code key}. */
    public static Kv put(String store, String tenantId, String key, String value) {
      return new Kv(store, tenantId, key, value, false);
    }

    /** A delete of {@code key}. */
    public static Kv delete(String store, String tenantId, String key) {
      return new Kv(store, tenantId, key, null, true);
    }
  }
}
