package io.synod.core.saga;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A saga state machine with a fake clock that checks, after every command, every invariant and
 * that the command and its effects survive the codec byte for byte.
 */
final class SagaHarness {
  static final StepOperation ACT = new StepOperation.Local("app", Map.of("do", "it"));
  static final StepOperation UNDO = new StepOperation.Local("app", Map.of("undo", "it"));

  final SagaStateMachine machine;
  long nowMs = 1_000;

  SagaHarness() {
    this(SagaStateMachine.Limits.DEFAULTS);
  }

  SagaHarness(SagaStateMachine.Limits limits) {
    this.machine = new SagaStateMachine(limits);
  }

  static RetryPolicy retry(int maxAttempts) {
    return new RetryPolicy(maxAttempts, RetryPolicy.Backoff.EXPONENTIAL, Duration.ofSeconds(1),
        Duration.ofSeconds(30));
  }

  List<SagaEffect> apply(SagaCommand command) {
    assertThat(encode(roundTrip(command))).isEqualTo(encode(command));
    List<SagaEffect> effects = machine.apply(command);
    machine.checkInvariants();
    for (SagaEffect effect : effects) {
      assertThat(roundTrip(effect)).isEqualTo(effect);
    }
    return effects;
  }

  List<SagaEffect> start(String sagaId, io.synod.api.saga.SagaDefinition definition) {
    return apply(new SagaCommand.Start(sagaId, definition, Map.of("id", 7L), nowMs));
  }

  List<SagaEffect> started(String sagaId, String step, int attempt) {
    return apply(new SagaCommand.StepStarted(sagaId, step, attempt, nowMs));
  }

  List<SagaEffect> succeeded(String sagaId, String step, int attempt) {
    return apply(new SagaCommand.StepSucceeded(sagaId, step, attempt, nowMs));
  }

  List<SagaEffect> failed(String sagaId, String step, int attempt, boolean retryable) {
    return apply(new SagaCommand.StepFailed(sagaId, step, attempt, "boom " + attempt, retryable,
        nowMs));
  }

  /** Starts the step's next try and reports it succeeded. */
  void runs(String sagaId, String step) {
    int attempt = step(sagaId, step).attempts() + 1;
    started(sagaId, step, attempt);
    succeeded(sagaId, step, attempt);
  }

  List<SagaEffect> compensationStarted(String sagaId, String step, int attempt) {
    return apply(new SagaCommand.CompensationStarted(sagaId, step, attempt, nowMs));
  }

  List<SagaEffect> compensationSucceeded(String sagaId, String step) {
    return apply(new SagaCommand.CompensationSucceeded(sagaId, step, nowMs));
  }

  List<SagaEffect> compensationFailed(String sagaId, String step, int attempt) {
    return apply(new SagaCommand.CompensationFailed(sagaId, step, attempt, "undo failed "
        + attempt, nowMs));
  }

  /** Starts the step's next compensation try and reports it succeeded. */
  void compensates(String sagaId, String step) {
    compensationStarted(sagaId, step, step(sagaId, step).compensationAttempts() + 1);
    compensationSucceeded(sagaId, step);
  }

  List<SagaEffect> abort(String sagaId) {
    return apply(new SagaCommand.Abort(sagaId, "user asked", nowMs));
  }

  List<SagaEffect> retryCompensations(String sagaId) {
    return apply(new SagaCommand.RetryCompensations(sagaId, nowMs));
  }

  SagaStatus status(String sagaId) {
    return machine.status(sagaId).orElseThrow();
  }

  SagaState state(String sagaId) {
    return status(sagaId).state();
  }

  StepStatus step(String sagaId, String step) {
    return status(sagaId).steps().stream().filter(s -> s.name().equals(step)).findFirst()
        .orElseThrow();
  }

  StepState stepState(String sagaId, String step) {
    return step(sagaId, step).state();
  }

  List<Due> due(String sagaId) {
    return machine.due(sagaId);
  }

  static byte[] encode(SagaCommand command) {
    return bytes(out -> SagaCodec.writeCommand(out, command));
  }

  static SagaCommand roundTrip(SagaCommand command) {
    try {
      return SagaCodec.readCommand(in(encode(command)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static SagaEffect roundTrip(SagaEffect effect) {
    try {
      return SagaCodec.readEffect(in(bytes(out -> SagaCodec.writeEffect(out, effect))));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] snapshot(SagaStateMachine machine) {
    return bytes(machine::writeSnapshot);
  }

  static SagaStateMachine restore(byte[] snapshot, SagaStateMachine.Limits limits) {
    try {
      return SagaStateMachine.readSnapshot(in(snapshot), limits);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static DataInputStream in(byte[] bytes) {
    return new DataInputStream(new ByteArrayInputStream(bytes));
  }

  interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  static byte[] bytes(Writer writer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writer.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
