package io.synod.client;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import io.synod.proto.v1.BackoffStrategy;
import io.synod.proto.v1.KvOperation;
import io.synod.proto.v1.RedisCommand;
import io.synod.proto.v1.SagaOperation;
import io.synod.proto.v1.SagaRetryPolicy;
import io.synod.proto.v1.SagaStepDefinition;
import io.synod.proto.v1.SagaStepStatus;
import io.synod.proto.v1.SqlStatement;
import io.synod.proto.v1.SqlValue;
import io.synod.proto.v1.StartSagaRequest;
import io.synod.proto.v1.StepDependencies;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Converts the saga API's records to the messages of {@code synod/v1/sagas.proto} and back, for
 * the server and the client alike. Errors name the field as the wire (and the JSON API) names it:
 * {@code definition.steps[1].forward_operation.store}, not the Java API's {@code
 * steps[1].action.store} ({@link #wireField}).
 */
public final class SagaProtoMapping {
  /** How long a Start with wait answers at the latest when it asks for no other bound. */
  public static final Duration WAIT_DEFAULT = Duration.ofSeconds(60);
  /** The longest wait a Start may ask for. */
  public static final Duration WAIT_MAX = Duration.ofHours(1);

  private static final String DEFINITION = "definition";
  private static final Pattern STEP_TIMEOUT = Pattern.compile("^(steps\\[\\d+])\\.timeout$");
  private static final Pattern ACTION = Pattern.compile("^(steps\\[\\d+])\\.action(?=\\.|$)");
  private static final Pattern COMPENSATION =
      Pattern.compile("^(steps\\[\\d+])\\.compensation(?=\\.|$)");

  private SagaProtoMapping() {}

  // ---- requests

  /** A Start request; {@code waitFor} null means the server's default (60 s). */
  public static StartSagaRequest toProto(String sagaId, SagaDefinition definition,
      Map<String, Object> input, boolean wait, Duration waitFor) {
    StartSagaRequest.Builder proto = StartSagaRequest.newBuilder()
        .setSagaId(sagaId == null ? "" : sagaId)
        .setDefinition(toProto(definition))
        .setWait(wait);
    if (waitFor != null) {
      proto.setWaitSeconds(waitFor.toMillis() / 1000.0);
    }
    if (input != null) {
      input.forEach((name, value) -> proto.putInput(name,
          ProtoMapping.toProto(value, "input." + name)));
    }
    return proto.build();
  }

  public static io.synod.proto.v1.SagaDefinition toProto(SagaDefinition definition) {
    io.synod.proto.v1.SagaDefinition.Builder proto = io.synod.proto.v1.SagaDefinition.newBuilder()
        .setName(definition.name());
    for (int i = 0; i < definition.steps().size(); i++) {
      SagaStep step = definition.steps().get(i);
      String field = DEFINITION + ".steps[" + i + "]";
      SagaStepDefinition.Builder s = SagaStepDefinition.newBuilder()
          .setName(step.name())
          .setDependsOn(StepDependencies.newBuilder().addAllSteps(step.dependsOn()))
          .setForwardOperation(toProto(step.action(), step.timeout(),
              field + ".forward_operation"))
          .setRetryPolicy(toProto(step.retry()));
      if (step.compensation() != null) {
        s.setCompensationOperation(toProto(step.compensation(), step.timeout(),
            field + ".compensation_operation"));
      }
      proto.addSteps(s);
    }
    return proto.build();
  }

  private static SagaOperation toProto(StepOperation operation, Duration timeout, String field) {
    SagaOperation.Builder proto = SagaOperation.newBuilder()
        .setStore(operation.store())
        .setTimeoutSeconds(timeout.toMillis() / 1000.0);
    switch (operation) {
      case StepOperation.Sql sql -> {
        SqlStatement.Builder statement = SqlStatement.newBuilder().setStatement(sql.sql());
        for (int i = 0; i < sql.params().size(); i++) {
          statement.addParams(ProtoMapping.toProto(sql.params().get(i),
              field + ".params[" + i + "]"));
        }
        proto.setSql(statement);
      }
      case StepOperation.Redis redis ->
          proto.setRedis(RedisCommand.newBuilder().addAllCommand(redis.command()));
      case StepOperation.Kv kv -> {
        KvOperation.Builder write = KvOperation.newBuilder()
            .setTenantId(kv.tenantId())
            .setKey(kv.key())
            .setDelete(kv.delete());
        if (kv.value() != null) {
          write.setValue(kv.value());
        }
        proto.setKv(write);
      }
      case StepOperation.Local local -> throw SynodException.invalid(field,
          "a local step ('" + local.store() + "') runs only in an embedded engine, which has"
              + " its handler; a server cannot run it");
    }
    return proto.build();
  }

  private static SagaRetryPolicy toProto(RetryPolicy retry) {
    return SagaRetryPolicy.newBuilder()
        .setMaxAttempts(retry.maxAttempts())
        .setBackoffStrategy(retry.backoff() == RetryPolicy.Backoff.FIXED
            ? BackoffStrategy.BACKOFF_FIXED : BackoffStrategy.BACKOFF_EXPONENTIAL)
        .setBaseDelaySeconds(retry.baseDelay().toMillis() / 1000.0)
        .setMaxDelaySeconds(retry.maxDelay().toMillis() / 1000.0)
        .build();
  }

  /** The definition in a request; INVALID_ARGUMENT naming the field (definition.steps[0]...). */
  public static SagaDefinition fromProto(io.synod.proto.v1.SagaDefinition proto) {
    List<SagaStep> steps = new ArrayList<>(proto.getStepsCount());
    for (int i = 0; i < proto.getStepsCount(); i++) {
      steps.add(step(proto.getSteps(i), DEFINITION + ".steps[" + i + "]",
          steps.isEmpty() ? null : steps.getLast()));
    }
    try {
      return new SagaDefinition(proto.getName(), steps);
    } catch (SynodException e) {
      throw onWire(e);
    }
  }

  private static SagaStep step(SagaStepDefinition proto, String field, SagaStep previous) {
    if (!proto.hasForwardOperation()) {
      throw SynodException.invalid(field + ".forward_operation", "is required");
    }
    List<String> dependsOn = proto.hasDependsOn() ? proto.getDependsOn().getStepsList()
        : previous == null ? List.of() : List.of(previous.name());
    Duration timeout = seconds(proto.getForwardOperation().getTimeoutSeconds(),
        field + ".forward_operation.timeout_seconds", SagaStep.DEFAULT_TIMEOUT);
    StepOperation action = operation(proto.getForwardOperation(), field + ".forward_operation");
    StepOperation compensation = null;
    if (proto.hasCompensationOperation()) {
      String compensationField = field + ".compensation_operation";
      double seconds = proto.getCompensationOperation().getTimeoutSeconds();
      if (seconds != 0 && !seconds(seconds, compensationField + ".timeout_seconds", timeout)
          .equals(timeout)) {
        throw SynodException.invalid(compensationField + ".timeout_seconds", "must be 0 or equal"
            + " forward_operation.timeout_seconds (" + timeout.toMillis() / 1000.0 + "): a step"
            + " has one timeout for both; got " + seconds);
      }
      compensation = operation(proto.getCompensationOperation(), compensationField);
    }
    RetryPolicy retry = proto.hasRetryPolicy()
        ? retry(proto.getRetryPolicy(), field + ".retry_policy") : RetryPolicy.DEFAULT;
    return new SagaStep(proto.getName(), action, compensation, dependsOn, timeout, retry);
  }

  private static StepOperation operation(SagaOperation proto, String field) {
    if (proto.getStore().isEmpty()) {
      throw SynodException.invalid(field + ".store", "is required: the store that runs it");
    }
    return switch (proto.getKindCase()) {
      case SQL -> {
        List<Object> params = new ArrayList<>();
        for (int i = 0; i < proto.getSql().getParamsCount(); i++) {
          params.add(ProtoMapping.fromProto(proto.getSql().getParams(i),
              field + ".params[" + i + "]"));
        }
        if (proto.getSql().getStatement().isBlank()) {
          throw SynodException.invalid(field + ".sql", "is required: the statement to run");
        }
        yield new StepOperation.Sql(proto.getStore(), proto.getSql().getStatement(), params);
      }
      case REDIS -> {
        if (proto.getRedis().getCommandCount() == 0) {
          throw SynodException.invalid(field + ".redis", "must hold the command and its"
              + " arguments, e.g. [\"INCRBY\", \"stock:{{saga.item}}\", \"-1\"]");
        }
        yield new StepOperation.Redis(proto.getStore(), proto.getRedis().getCommandList());
      }
      case KV -> {
        KvOperation kv = proto.getKv();
        yield kv(field, proto.getStore(), kv.getTenantId(), kv.getKey(),
            kv.hasValue() ? kv.getValue() : null, kv.getDelete());
      }
      case KIND_NOT_SET -> throw SynodException.invalid(field,
          "must have exactly one of sql (with params), redis or kv");
    };
  }

  /**
   * A key-value step of the operation at {@code field}; the operation's own errors ({@code
   * tenant_id}, {@code key}, {@code value}) are named under it. Public so that the JSON API
   * builds it alike.
   */
  public static StepOperation.Kv kv(String field, String store, String tenantId, String key,
      String value, boolean delete) {
    try {
      return new StepOperation.Kv(store, tenantId, key, value, delete);
    } catch (SynodException e) {
      throw SynodException.invalid(e.field().map(f -> field + "." + f).orElse(field), rule(e));
    }
  }

  private static RetryPolicy retry(SagaRetryPolicy proto, String field) {
    RetryPolicy defaults = RetryPolicy.DEFAULT;
    RetryPolicy.Backoff backoff = switch (proto.getBackoffStrategy()) {
      case BACKOFF_STRATEGY_UNSPECIFIED -> defaults.backoff();
      case BACKOFF_EXPONENTIAL -> RetryPolicy.Backoff.EXPONENTIAL;
      case BACKOFF_FIXED -> RetryPolicy.Backoff.FIXED;
      case UNRECOGNIZED -> throw SynodException.invalid(field + ".backoff_strategy",
          "must be exponential or fixed");
    };
    Duration base = proto.hasBaseDelaySeconds()
        ? delay(proto.getBaseDelaySeconds(), field + ".base_delay_seconds") : defaults.baseDelay();
    Duration max = proto.hasMaxDelaySeconds()
        ? delay(proto.getMaxDelaySeconds(), field + ".max_delay_seconds") : defaults.maxDelay();
    try {
      return new RetryPolicy(proto.getMaxAttempts() == 0 ? defaults.maxAttempts()
          : proto.getMaxAttempts(), backoff, base, max);
    } catch (SynodException e) {
      // RetryPolicy names its fields retry_policy.max_attempts, ...: put them under the step.
      String own = e.field().orElse("retry_policy").replaceFirst("^retry_policy\\.?", "");
      throw SynodException.invalid(own.isEmpty() ? field : field + "." + own, rule(e));
    }
  }

  private static Duration delay(double seconds, String field) {
    if (Double.isNaN(seconds) || seconds < 0) {
      throw SynodException.invalid(field, "must be zero or more; got " + seconds);
    }
    return Duration.ofMillis(Math.round(seconds * 1000));
  }

  /** A positive number of seconds; 0 means {@code absent}. */
  private static Duration seconds(double seconds, String field, Duration absent) {
    if (seconds == 0) {
      return absent;
    }
    if (Double.isNaN(seconds) || seconds < 0) {
      throw SynodException.invalid(field, "must be more than 0 (or 0 for the default); got "
          + seconds);
    }
    return Duration.ofMillis(Math.max(1, Math.round(seconds * 1000)));
  }

  /** The input of a request: each value as {@link ProtoMapping#fromProto(SqlValue, String)}. */
  public static Map<String, Object> input(Map<String, SqlValue> proto) {
    Map<String, Object> input = new LinkedHashMap<>();
    proto.forEach((name, value) -> input.put(name, ProtoMapping.fromProto(value,
        "input." + name)));
    return input;
  }

  /** The bound of a Start's wait: 0 is the default (60 s); at most {@link #WAIT_MAX}. */
  public static Duration waitFor(double seconds) {
    if (Double.isNaN(seconds) || seconds < 0 || seconds > WAIT_MAX.toSeconds()) {
      throw SynodException.invalid("wait_seconds", "must be 0 (the default, "
          + WAIT_DEFAULT.toSeconds() + " s) to " + WAIT_MAX.toSeconds() + "; got " + seconds);
    }
    return seconds == 0 ? WAIT_DEFAULT : Duration.ofMillis(Math.max(1, Math.round(seconds * 1000)));
  }

  // ---- status

  public static io.synod.proto.v1.SagaStatus toProto(SagaStatus status) {
    io.synod.proto.v1.SagaStatus.Builder proto = io.synod.proto.v1.SagaStatus.newBuilder()
        .setSagaId(status.sagaId())
        .setDefinition(nullToEmpty(status.definition()))
        .setState(io.synod.proto.v1.SagaState.valueOf("SAGA_STATE_" + status.state().name()))
        .setError(nullToEmpty(status.error()))
        .setCreatedAtMs(status.createdAtMs())
        .setUpdatedAtMs(status.updatedAtMs());
    for (StepStatus step : status.steps()) {
      proto.addSteps(SagaStepStatus.newBuilder()
          .setName(step.name())
          .setState(io.synod.proto.v1.StepState.valueOf("STEP_STATE_" + step.state().name()))
          .setAttempts(step.attempts())
          .setCompensationAttempts(step.compensationAttempts())
          .setLastError(nullToEmpty(step.lastError()))
          .setUpdatedAtMs(step.updatedAtMs()));
    }
    return proto.build();
  }

  public static SagaStatus fromProto(io.synod.proto.v1.SagaStatus proto) {
    List<StepStatus> steps = new ArrayList<>(proto.getStepsCount());
    for (SagaStepStatus step : proto.getStepsList()) {
      steps.add(new StepStatus(step.getName(), stepState(step.getState()), step.getAttempts(),
          step.getCompensationAttempts(), emptyToNull(step.getLastError()),
          step.getUpdatedAtMs()));
    }
    return new SagaStatus(proto.getSagaId(), proto.getDefinition(), sagaState(proto.getState()),
        steps, emptyToNull(proto.getError()), proto.getCreatedAtMs(), proto.getUpdatedAtMs());
  }

  private static SagaState sagaState(io.synod.proto.v1.SagaState proto) {
    return switch (proto) {
      case SAGA_STATE_UNSPECIFIED, UNRECOGNIZED -> throw new SynodException(ErrorCode.INTERNAL,
          null, "the server sent a saga status without a known state: " + proto);
      default -> SagaState.valueOf(proto.name().substring("SAGA_STATE_".length()));
    };
  }

  private static StepState stepState(io.synod.proto.v1.StepState proto) {
    return switch (proto) {
      case STEP_STATE_UNSPECIFIED, UNRECOGNIZED -> throw new SynodException(ErrorCode.INTERNAL,
          null, "the server sent a step status without a known state: " + proto);
      default -> StepState.valueOf(proto.name().substring("STEP_STATE_".length()));
    };
  }

  // ---- field names

  /**
   * The wire's (and the JSON API's) name of a field the engine names in Java API terms: {@code
   * steps[1].action.params[0]} is {@code definition.steps[1].forward_operation.params[0]}, {@code
   * steps[1].timeout} is {@code definition.steps[1].forward_operation.timeout}, a Redis {@code
   * command[2]} is {@code redis[2]}, the saga's {@code name} is {@code definition.name}. Other
   * fields ({@code saga_id}, {@code input.amount}, names already on the wire) are kept.
   */
  public static String wireField(String field) {
    if (field == null || !(field.equals("name") || field.equals("steps")
        || field.startsWith("steps["))) {
      return field;
    }
    String wire = STEP_TIMEOUT.matcher(field).replaceFirst("$1.forward_operation.timeout");
    wire = ACTION.matcher(wire).replaceFirst("$1.forward_operation");
    wire = COMPENSATION.matcher(wire).replaceFirst("$1.compensation_operation");
    wire = wire.replaceFirst("\\.command\\[", ".redis[");
    return DEFINITION + "." + wire;
  }

  /** {@code e} with its field named as on the wire (see {@link #wireField}). */
  public static SynodException onWire(SynodException e) {
    String field = e.field().orElse(null);
    String wire = wireField(field);
    if (field == null || field.equals(wire)) {
      return e;
    }
    return new SynodException(e.code(), wire, rule(e));
  }

  /** The message of {@code e} without its leading "field: ". */
  private static String rule(SynodException e) {
    String message = e.getMessage();
    String prefix = e.field().map(f -> f + ": ").orElse("");
    return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
