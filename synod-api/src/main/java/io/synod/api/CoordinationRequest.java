package io.synod.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A request to coordinate writes across stores (spec 001 {@code CoordinationRequest}).
 *
 * <p>The record holds what the caller sent; the coordinator validates it as a whole when it
 * arrives (see {@code RequestValidator}) and names the offending field in its error, so that a
 * server can accept requests from any language and report every mistake the same way.
 *
 * @param coordinationId the caller's id, unique per coordination; a repeated id returns the first
 *     outcome and runs nothing again
 * @param coordinationType what kind of coordination this is
 * @param participatingStores the stores that take part, each named as configured
 * @param operations the writes, each naming one of the participating stores
 * @param timeout the whole coordination's deadline; the prepare phase never waits longer
 * @param consistencyLevel the consistency asked for
 * @param metadata free-form annotations kept with the coordination
 */
public record CoordinationRequest(
    String coordinationId,
    CoordinationType coordinationType,
    List<String> participatingStores,
    List<Operation> operations,
    Duration timeout,
    ConsistencyLevel consistencyLevel,
    Map<String, String> metadata) {

  public CoordinationRequest {
    participatingStores = participatingStores == null ? List.of() : copyOf(participatingStores);
    operations = operations == null ? List.of() : copyOf(operations);
    metadata = metadata == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(metadata));
  }

  private static <T> List<T> copyOf(List<T> list) {
    // Keep nulls so that validation can name "operations[2]" instead of failing here.
    return java.util.Collections.unmodifiableList(new ArrayList<>(list));
  }

  /** A two-phase-commit request over the stores its operations name. */
  public static Builder twoPhaseCommit(String coordinationId) {
    return new Builder(coordinationId, CoordinationType.TWO_PHASE_COMMIT);
  }

  /** Builds a request; stores are taken from the operations unless given explicitly. */
  public static final class Builder {
    private final String coordinationId;
    private final CoordinationType type;
    private final List<String> stores = new ArrayList<>();
    private final List<Operation> operations = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private Duration timeout = Duration.ofSeconds(30);
    private ConsistencyLevel consistency = ConsistencyLevel.STRONG;

    private Builder(String coordinationId, CoordinationType type) {
      this.coordinationId = coordinationId;
      this.type = Objects.requireNonNull(type, "type");
    }

    public Builder store(String store) {
      if (!stores.contains(store)) {
        stores.add(store);
      }
      return this;
    }

    public Builder sql(String store, String sql, Object... params) {
      store(store);
      operations.add(SqlOperation.of(store, sql, params));
      return this;
    }

    public Builder operation(Operation operation) {
      store(operation.store());
      operations.add(operation);
      return this;
    }

    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    public Builder consistency(ConsistencyLevel consistency) {
      this.consistency = consistency;
      return this;
    }

    public Builder metadata(String key, String value) {
      metadata.put(key, value);
      return this;
    }

    public CoordinationRequest build() {
      return new CoordinationRequest(
          coordinationId, type, stores, operations, timeout, consistency, metadata);
    }
  }
}
