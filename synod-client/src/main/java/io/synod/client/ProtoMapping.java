package io.synod.client;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.synod.api.ConsistencyLevel;
import io.synod.api.CoordinationEvent;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationType;
import io.synod.api.ErrorCode;
import io.synod.api.Operation;
import io.synod.api.SqlOperation;
import io.synod.api.SynodException;
import io.synod.api.TransactionState;
import io.synod.proto.v1.CoordinateRequest;
import io.synod.proto.v1.SqlStatement;
import io.synod.proto.v1.SqlValue;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Converts between the Java API's records and the gRPC messages, both ways, so that the server
 * and the client agree by construction. Input from the wire is not trusted here beyond its
 * shape: the coordinator validates the request it yields and names the offending field.
 */
public final class ProtoMapping {
  /** Trailer that carries the offending field of an INVALID_ARGUMENT, for clients to show. */
  public static final Metadata.Key<String> FIELD_KEY =
      Metadata.Key.of("synod-field", Metadata.ASCII_STRING_MARSHALLER);

  private ProtoMapping() {}

  // ---- requests

  public static CoordinateRequest toProto(CoordinationRequest request) {
    CoordinateRequest.Builder proto = CoordinateRequest.newBuilder()
        .setCoordinationId(nullToEmpty(request.coordinationId()))
        .addAllParticipatingStores(request.participatingStores())
        .putAllMetadata(request.metadata());
    if (request.coordinationType() != null) {
      proto.setCoordinationType(
          io.synod.proto.v1.CoordinationType.valueOf(request.coordinationType().name()));
    }
    if (request.consistencyLevel() != null) {
      proto.setConsistencyLevel(
          io.synod.proto.v1.ConsistencyLevel.valueOf(request.consistencyLevel().name()));
    }
    if (request.timeout() != null) {
      proto.setTimeoutSeconds(request.timeout().toMillis() / 1000.0);
    }
    List<Operation> operations = request.operations();
    for (int i = 0; i < operations.size(); i++) {
      proto.addOperations(toProto(operations.get(i), "operations[" + i + "]"));
    }
    return proto.build();
  }

  private static io.synod.proto.v1.Operation toProto(Operation operation, String field) {
    if (operation == null) {
      throw SynodException.invalid(field, "must not be null");
    }
    return switch (operation) {
      case SqlOperation sql -> {
        SqlStatement.Builder statement = SqlStatement.newBuilder().setStatement(sql.sql());
        for (int i = 0; i < sql.params().size(); i++) {
          statement.addParams(toProto(sql.params().get(i), field + ".params[" + i + "]"));
        }
        yield io.synod.proto.v1.Operation.newBuilder()
            .setStore(sql.store()).setSql(statement).build();
      }
    };
  }

  /**
   * A bound parameter on the wire. Integers travel exactly, decimals as text; other Java types
   * are refused rather than guessed at: send them as text and CAST in the statement.
   */
  public static SqlValue toProto(Object value, String field) {
    SqlValue.Builder proto = SqlValue.newBuilder();
    return switch (value) {
      case null -> proto.setNull(true).build();
      case Boolean b -> proto.setBool(b).build();
      case Long l -> proto.setInt(l).build();
      case Integer i -> proto.setInt(i).build();
      case Short s -> proto.setInt(s).build();
      case Byte b -> proto.setInt(b).build();
      case Double d -> proto.setDouble(d).build();
      case Float f -> proto.setDouble(f).build();
      case BigDecimal d -> proto.setDecimal(d.toPlainString()).build();
      case BigInteger i -> proto.setDecimal(i.toString()).build();
      case String s -> proto.setText(s).build();
      case byte[] bytes -> proto.setBytes(ByteString.copyFrom(bytes)).build();
      default -> throw SynodException.invalid(field, "a " + value.getClass().getSimpleName()
          + " cannot be sent to a server; send it as text and CAST it in the statement");
    };
  }

  public static CoordinationRequest fromProto(CoordinateRequest proto) {
    List<Operation> operations = new ArrayList<>(proto.getOperationsCount());
    for (int i = 0; i < proto.getOperationsCount(); i++) {
      operations.add(fromProto(proto.getOperations(i), "operations[" + i + "]"));
    }
    List<String> stores = new ArrayList<>(proto.getParticipatingStoresList());
    if (stores.isEmpty()) {
      for (Operation operation : operations) {
        if (!stores.contains(operation.store())) {
          stores.add(operation.store());
        }
      }
    }
    return new CoordinationRequest(
        proto.getCoordinationId().isEmpty() ? null : proto.getCoordinationId(),
        coordinationType(proto.getCoordinationType()),
        stores,
        operations,
        timeout(proto.getTimeoutSeconds()),
        consistencyLevel(proto.getConsistencyLevel()),
        proto.getMetadataMap());
  }

  private static Operation fromProto(io.synod.proto.v1.Operation proto, String field) {
    if (proto.getKindCase() != io.synod.proto.v1.Operation.KindCase.SQL) {
      throw SynodException.invalid(field + ".sql", "is required: the statement to run");
    }
    SqlStatement statement = proto.getSql();
    List<Object> params = new ArrayList<>(statement.getParamsCount());
    for (int i = 0; i < statement.getParamsCount(); i++) {
      params.add(fromProto(statement.getParams(i), field + ".sql.params[" + i + "]"));
    }
    return new SqlOperation(proto.getStore(), statement.getStatement(), params);
  }

  public static Object fromProto(SqlValue value, String field) {
    return switch (value.getKindCase()) {
      case NULL, KIND_NOT_SET -> null;
      case BOOL -> value.getBool();
      case INT -> value.getInt();
      case DOUBLE -> value.getDouble();
      case DECIMAL -> decimal(value.getDecimal(), field);
      case TEXT -> value.getText();
      case BYTES -> value.getBytes().toByteArray();
    };
  }

  private static BigDecimal decimal(String text, String field) {
    try {
      return new BigDecimal(text);
    } catch (NumberFormatException e) {
      throw SynodException.invalid(field + ".decimal", "must be a decimal number; got '" + text
          + "'");
    }
  }

  private static CoordinationType coordinationType(io.synod.proto.v1.CoordinationType proto) {
    return switch (proto) {
      case COORDINATION_TYPE_UNSPECIFIED -> CoordinationType.TWO_PHASE_COMMIT;
      case UNRECOGNIZED -> throw SynodException.invalid("coordination_type",
          "must be one of two_phase_commit, saga_orchestration, saga_choreography, "
              + "event_sourcing, eventual_consistency");
      default -> CoordinationType.valueOf(proto.name());
    };
  }

  private static ConsistencyLevel consistencyLevel(io.synod.proto.v1.ConsistencyLevel proto) {
    return switch (proto) {
      case CONSISTENCY_LEVEL_UNSPECIFIED -> ConsistencyLevel.STRONG;
      case UNRECOGNIZED -> throw SynodException.invalid("consistency_level",
          "must be one of strong, quorum, eventual");
      default -> ConsistencyLevel.valueOf(proto.name());
    };
  }

  private static Duration timeout(double seconds) {
    if (Double.isNaN(seconds) || seconds < 0 || seconds > 86_400) {
      throw SynodException.invalid("timeout_seconds", "must be 0 (the default) to 86400; got "
          + seconds);
    }
    return seconds == 0 ? Duration.ofSeconds(30) : Duration.ofMillis(Math.round(seconds * 1000));
  }

  // ---- results and events

  public static io.synod.proto.v1.CoordinationResult toProto(CoordinationResult result) {
    return io.synod.proto.v1.CoordinationResult.newBuilder()
        .setCoordinationId(result.coordinationId())
        .setSuccess(result.success())
        .setFinalState(toProto(result.finalState()))
        .setErrorMessage(nullToEmpty(result.errorMessage()))
        .setExecutionDurationMs(result.executionDurationMs())
        .addAllParticipatingStores(result.participatingStores())
        .setOperationsCompleted(result.operationsCompleted())
        .setOperationsFailed(result.operationsFailed())
        .build();
  }

  public static CoordinationResult fromProto(io.synod.proto.v1.CoordinationResult proto) {
    return new CoordinationResult(
        proto.getCoordinationId(),
        proto.getSuccess(),
        fromProto(proto.getFinalState()),
        proto.getErrorMessage().isEmpty() ? null : proto.getErrorMessage(),
        proto.getExecutionDurationMs(),
        proto.getParticipatingStoresList(),
        proto.getOperationsCompleted(),
        proto.getOperationsFailed());
  }

  public static io.synod.proto.v1.TransactionState toProto(TransactionState state) {
    return io.synod.proto.v1.TransactionState.valueOf(state.name());
  }

  public static TransactionState fromProto(io.synod.proto.v1.TransactionState proto) {
    return switch (proto) {
      case TRANSACTION_STATE_UNSPECIFIED, UNRECOGNIZED ->
          throw new SynodException(ErrorCode.INTERNAL, null,
              "the server sent a result without a known final_state: " + proto);
      default -> TransactionState.valueOf(proto.name());
    };
  }

  public static io.synod.proto.v1.CoordinationEvent toProto(CoordinationEvent event) {
    var proto = io.synod.proto.v1.CoordinationEvent.newBuilder()
        .setType(event.type())
        .setCoordinationId(nullToEmpty(event.coordinationId()));
    switch (event) {
      case CoordinationEvent.Started s -> proto.setAtMs(s.startedAtMs())
          .setCoordinationType(
              io.synod.proto.v1.CoordinationType.valueOf(s.coordinationType().name()))
          .addAllParticipatingStores(s.participatingStores());
      case CoordinationEvent.Completed c -> proto.setSuccess(c.success())
          .setFinalState(toProto(c.finalState()))
          .setExecutionDurationMs(c.executionDurationMs());
      case CoordinationEvent.Failed f -> proto.setAtMs(f.failedAtMs())
          .setFinalState(io.synod.proto.v1.TransactionState.FAILED)
          .setErrorMessage(nullToEmpty(f.errorMessage()));
      case CoordinationEvent.DeadlockDetected d -> proto.setAtMs(d.detectedAtMs())
          .addAllCycle(d.cycle()).setVictim(d.victimSessionId());
    }
    return proto.build();
  }

  /**
   * An event from the wire, or empty for a type this client does not know (a newer server's).
   */
  public static java.util.Optional<CoordinationEvent> fromProto(
      io.synod.proto.v1.CoordinationEvent proto) {
    String id = proto.getCoordinationId().isEmpty() ? null : proto.getCoordinationId();
    return java.util.Optional.ofNullable(switch (proto.getType()) {
      case "COORDINATION_STARTED" -> new CoordinationEvent.Started(id,
          coordinationType(proto.getCoordinationType()), proto.getParticipatingStoresList(),
          proto.getAtMs());
      case "COORDINATION_COMPLETED" -> new CoordinationEvent.Completed(id, proto.getSuccess(),
          fromProto(proto.getFinalState()), proto.getExecutionDurationMs());
      case "COORDINATION_FAILED" -> new CoordinationEvent.Failed(id,
          proto.getErrorMessage().isEmpty() ? null : proto.getErrorMessage(), proto.getAtMs());
      case "DEADLOCK_DETECTED" -> new CoordinationEvent.DeadlockDetected(id, proto.getVictim(),
          proto.getCycleList(), proto.getAtMs());
      default -> null;
    });
  }

  // ---- errors

  /** A {@link SynodException} as a gRPC status: its code, its message, its field in a trailer. */
  public static StatusRuntimeException toStatus(SynodException e) {
    Metadata trailers = new Metadata();
    e.field().ifPresent(field -> trailers.put(FIELD_KEY, field));
    return Status.fromCodeValue(e.code().grpcCode())
        .withDescription(e.getMessage())
        .asRuntimeException(trailers);
  }

  /** Makes a blocking gRPC call; a failure arrives as the {@link SynodException} it means. */
  public static <T> T call(Supplier<T> call) {
    try {
      return call.get();
    } catch (StatusRuntimeException e) {
      throw fromStatus(e);
    }
  }

  /** As {@link #call}, with NOT_FOUND answered as empty. */
  public static <T> Optional<T> find(Supplier<T> call) {
    try {
      return Optional.of(call(call));
    } catch (SynodException e) {
      if (e.code() == ErrorCode.NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** A gRPC failure as the {@link SynodException} the server meant, or UNAVAILABLE/INTERNAL. */
  public static SynodException fromStatus(StatusRuntimeException e) {
    Status status = e.getStatus();
    ErrorCode code = errorCode(status.getCode());
    String message = status.getDescription() != null ? status.getDescription()
        : status.getCode() + (status.getCause() != null ? ": " + status.getCause() : "");
    String field = e.getTrailers() == null ? null : e.getTrailers().get(FIELD_KEY);
    if (field != null && message.startsWith(field + ": ")) {
      return new SynodException(code, field, message.substring(field.length() + 2));
    }
    return new SynodException(code, message, e);
  }

  public static ErrorCode errorCode(Status.Code code) {
    for (ErrorCode candidate : ErrorCode.values()) {
      if (candidate.grpcCode() == code.value()) {
        return candidate;
      }
    }
    return switch (code) {
      case CANCELLED -> ErrorCode.UNAVAILABLE;
      case PERMISSION_DENIED, UNAUTHENTICATED -> ErrorCode.FAILED_PRECONDITION;
      case OUT_OF_RANGE -> ErrorCode.INVALID_ARGUMENT;
      default -> ErrorCode.INTERNAL;
    };
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
