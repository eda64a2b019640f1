package io.synod.engine;

import io.synod.api.ConsistencyLevel;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationType;
import io.synod.api.Operation;
import io.synod.api.SqlOperation;
import io.synod.api.SynodException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.temporal.Temporal;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Checks a request as a whole before anything runs, naming the first offending field and the
 * rule it breaks. Nothing is prepared for a request that fails here.
 */
final class RequestValidator {
  static final int COORDINATION_ID_CHARS_MAX = 200;
  static final int SQL_CHARS_MAX = 65_536;
  static final int PARAMS_PER_OPERATION_MAX = 1_000;
  static final int METADATA_ENTRIES_MAX = 64;
  static final int METADATA_CHARS_MAX = 1_024;
  static final Duration TIMEOUT_MAX = Duration.ofHours(1);

  private final Set<String> knownStores;
  private final int operationsMax;

  RequestValidator(Set<String> knownStores, int operationsMax) {
    this.knownStores = Set.copyOf(knownStores);
    this.operationsMax = operationsMax;
  }

  void validate(CoordinationRequest request) {
    if (request == null) {
      throw SynodException.invalid("request", "must not be null");
    }
    coordinationId(request.coordinationId());
    type(request.coordinationType());
    // The operations' own stores first: a client that leaves participating_stores to be derived
    // from them should hear about the operation it wrote, not about a list it never sent.
    operationStoresKnown(request.operations());
    Set<String> stores = stores(request.participatingStores());
    operations(request.operations(), stores);
    timeout(request.timeout());
    if (request.consistencyLevel() != null && request.consistencyLevel() != ConsistencyLevel.STRONG) {
      throw SynodException.invalid("consistency_level",
          "two_phase_commit is always strong; got '" + request.consistencyLevel().wireName() + "'");
    }
    metadata(request);
  }

  private static void coordinationId(String id) {
    if (id == null || id.isBlank()) {
      throw SynodException.invalid("coordination_id", "is required and must not be blank");
    }
    if (id.length() > COORDINATION_ID_CHARS_MAX) {
      throw SynodException.invalid("coordination_id",
          "must be at most " + COORDINATION_ID_CHARS_MAX + " characters; got " + id.length());
    }
    for (int i = 0; i < id.length(); i++) {
      if (Character.isISOControl(id.charAt(i))) {
        throw SynodException.invalid("coordination_id", "must not contain control characters");
      }
    }
  }

  private static void type(CoordinationType type) {
    if (type == null) {
      throw SynodException.invalid("coordination_type", "is required");
    }
    if (type != CoordinationType.TWO_PHASE_COMMIT) {
      throw SynodException.invalid("coordination_type", "'" + type.wireName()
          + "' is not served by the atomic-commit coordinator; use two_phase_commit here"
          + (type == CoordinationType.SAGA_ORCHESTRATION
              ? ", and the saga API (SagaService, POST /v1/sagas) for orchestrated sagas"
              : type == CoordinationType.SAGA_CHOREOGRAPHY
                  ? ", and ChoreographyService for choreographed sagas" : ""));
    }
  }

  private Set<String> stores(List<String> stores) {
    if (stores.isEmpty()) {
      throw SynodException.invalid("participating_stores", "must name at least one store");
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < stores.size(); i++) {
      String store = stores.get(i);
      if (store == null || !knownStores.contains(store)) {
        throw SynodException.invalid("participating_stores[" + i + "]", "unknown store '" + store
            + "'; configured stores are " + new java.util.TreeSet<>(knownStores));
      }
      if (!seen.add(store)) {
        throw SynodException.invalid("participating_stores[" + i + "]",
            "store '" + store + "' is listed twice");
      }
    }
    return seen;
  }

  private void operationStoresKnown(List<Operation> operations) {
    if (operations.isEmpty()) {
      throw SynodException.invalid("operations", "must contain at least one operation");
    }
    for (int i = 0; i < operations.size(); i++) {
      Operation operation = operations.get(i);
      if (operation != null && !knownStores.contains(operation.store())) {
        throw SynodException.invalid("operations[" + i + "].store", "unknown store '"
            + operation.store() + "'; configured stores are " + new java.util.TreeSet<>(knownStores));
      }
    }
  }

  private void operations(List<Operation> operations, Set<String> stores) {
    if (operations.isEmpty()) {
      throw SynodException.invalid("operations", "must contain at least one operation");
    }
    if (operations.size() > operationsMax) {
      throw SynodException.invalid("operations", "must contain at most " + operationsMax
          + " operations; got " + operations.size());
    }
    for (int i = 0; i < operations.size(); i++) {
      operation(i, operations.get(i), stores);
    }
  }

  /** Field names are made only for an error: this runs for every operation of every request. */
  private static void operation(int index, Operation operation, Set<String> stores) {
    if (operation == null) {
      throw SynodException.invalid(field(index, ""), "must not be null");
    }
    if (!stores.contains(operation.store())) {
      throw SynodException.invalid(field(index, ".store"), "'" + operation.store()
          + "' is not one of participating_stores " + stores);
    }
    switch (operation) {
      case SqlOperation sql -> sql(index, sql);
    }
  }

  private static String field(int index, String rest) {
    return "operations[" + index + "]" + rest;
  }

  private static void sql(int index, SqlOperation op) {
    if (op.sql().isBlank()) {
      throw SynodException.invalid(field(index, ".sql"), "must not be blank");
    }
    if (op.sql().length() > SQL_CHARS_MAX) {
      throw SynodException.invalid(field(index, ".sql"), "must be at most " + SQL_CHARS_MAX
          + " characters; got " + op.sql().length());
    }
    if (op.params().size() > PARAMS_PER_OPERATION_MAX) {
      throw SynodException.invalid(field(index, ".params"), "must have at most "
          + PARAMS_PER_OPERATION_MAX + " values; got " + op.params().size());
    }
    for (int p = 0; p < op.params().size(); p++) {
      Object value = op.params().get(p);
      if (!bindable(value)) {
        throw SynodException.invalid(field(index, ".params[" + p + "]"), "type "
            + value.getClass().getName() + " cannot be bound; use a string, number, boolean,"
            + " byte array, UUID, java.time value or null");
      }
    }
  }

  private static boolean bindable(Object value) {
    return value == null || value instanceof String || value instanceof Integer
        || value instanceof Long || value instanceof Short || value instanceof Byte
        || value instanceof Double || value instanceof Float || value instanceof BigDecimal
        || value instanceof BigInteger || value instanceof Boolean || value instanceof byte[]
        || value instanceof UUID || value instanceof Temporal;
  }

  private static void timeout(Duration timeout) {
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw SynodException.invalid("timeout_seconds", "must be positive; got " + timeout);
    }
    if (timeout.compareTo(TIMEOUT_MAX) > 0) {
      throw SynodException.invalid("timeout_seconds", "must be at most "
          + TIMEOUT_MAX.toSeconds() + "; got " + timeout.toSeconds());
    }
  }

  private static void metadata(CoordinationRequest request) {
    if (request.metadata().size() > METADATA_ENTRIES_MAX) {
      throw SynodException.invalid("metadata", "must have at most " + METADATA_ENTRIES_MAX
          + " entries; got " + request.metadata().size());
    }
    request.metadata().forEach((key, value) -> {
      if (key.length() > METADATA_CHARS_MAX || value.length() > METADATA_CHARS_MAX) {
        throw SynodException.invalid("metadata." + key, "keys and values must be at most "
            + METADATA_CHARS_MAX + " characters");
      }
    });
  }
}
