package io.synod.server;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.saga.StepOperation;
import io.synod.engine.saga.store.RedisSagaStore;
import io.synod.engine.saga.store.SagaStore;
import io.synod.engine.saga.store.StepCall;
import io.synod.engine.saga.store.StepResult;
import io.synod.kv.coordinator.KvCoordinator;
import io.synod.kv.idempotency.IdempotencyStore;
import io.synod.server.config.ServerConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's key-value store as a saga participant: runs {@link StepOperation.Kv} steps, which
 * sagas address as the store {@value #NAME}, through this server's {@link KvCoordinator}.
 *
 * <p><b>The barrier.</b> The key-value store has no transaction over several keys, so the
 * barrier cannot be a row written next to the effect, as in a SQL store. It is the step's
 * idempotency key in the store's idempotency records, which the coordinator claims before a
 * write and completes with it:
 *
 * <pre>
 * call          idempotency records before           result           after
 * action        action key free                      Applied          action key: the write
 * action        action key: the write                AlreadyApplied   (unchanged)
 * action        action key: a fence                  Refused          (unchanged)
 * compensation  action key free                      Skipped          action key: a fence
 * compensation  action key: the write                Applied          + compensation key
 *                                                                     (its own write)
 * compensation  action key: a fence                  AlreadyApplied   (unchanged)
 * compensation  action key: the write, and the
 *               compensation key: its write          AlreadyApplied   (unchanged)
 * any           (failure)                            Failed           (nothing applied)
 * </pre>
 *
 * <ul>
 *   <li>An action writes (or deletes) with its key {@code <saga>_step_<step>}: a repeat finds
 *       the completed record and is a duplicate ({@link StepResult.AlreadyApplied}); a write that
 *       fails releases its claim, leaving nothing behind.
 *   <li>A compensation first {@linkplain KvCoordinator#fence fences} its action's key. A free key
 *       means the action never ran: the fence now holds it, so the action is refused should it
 *       arrive late, and the compensation is {@link StepResult.Skipped} (the fence is its record
 *       too: a repeat finds it and is {@link StepResult.AlreadyApplied}). A key whose write
 *       completed means the effect exists: the compensation then runs its own write with its key
 *       {@code <saga>_comp_<step>}, which makes a repeat a duplicate. A key whose write is still
 *       under way is a retryable failure: the compensation waits for that write's outcome.
 *   <li>The fence is looked up in the compensation's tenant, so a step's action and compensation
 *       name the same tenant ({@link io.synod.api.saga.SagaDefinition} refuses a saga whose
 *       don't).
 * </ul>
 *
 * <p>Keys are kept for {@link #BARRIER_RETENTION}, not the configured retention of clients'
 * keys: a saga may still be compensating days after its action (a failed saga retries its
 * compensations until they succeed). A step key longer than the store's {@value
 * IdempotencyStore#IDEMPOTENCY_KEY_CHARS_MAX} characters (a long saga id) is recorded under its
 * SHA-256 instead ({@link #recordedKey}). The records share the tenant's idempotency keys with
 * clients' writes, so clients must not use keys of the form {@code <saga>_step_<step>}.
 *
 * <p>Limits: a write is bounded by the coordinator's write timeout, not by the step's timeout;
 * and a write whose coordinator crashed mid-write counts as never run once its claim's lease has
 * passed (the lease is the idempotency store's bound on a write, as for clients' retries), even
 * if some replicas got the value.
 *
 * <p>Failures: UNAVAILABLE (too few replicas, the idempotency store unreachable), ABORTED (a
 * write with the key still in progress), RESOURCE_EXHAUSTED (the tenant's quota) and
 * DEADLINE_EXCEEDED are retryable; bad input (a tenant that does not exist, a value over the
 * tenant's limit) is not.
 */
public final class KvSagaStore implements SagaStore {
  private static final Logger LOG = LoggerFactory.getLogger(KvSagaStore.class);

  /** The name sagas give the key-value store. */
  public static final String NAME = ServerConfig.Kv.SAGA_STORE_NAME;

  /** How long a step's idempotency record (its barrier) is kept: as long as Redis's barrier. */
  public static final Duration BARRIER_RETENTION = RedisSagaStore.BARRIER_TTL;

  private static final Set<ErrorCode> RETRYABLE = Set.of(ErrorCode.UNAVAILABLE,
      ErrorCode.ABORTED, ErrorCode.RESOURCE_EXHAUSTED, ErrorCode.DEADLINE_EXCEEDED);

  private final KvCoordinator kv;
  private volatile boolean closed;

  /** Runs steps through {@code kv}, which the caller owns: {@link #close} leaves it open. */
  public KvSagaStore(KvCoordinator kv) {
    this.kv = Objects.requireNonNull(kv, "kv");
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public StepResult apply(StepCall call) {
    Objects.requireNonNull(call, "call");
    if (!(call.operation() instanceof StepOperation.Kv op)) {
      return failed(call, false, "this store writes keys of the key-value store, not "
          + call.operation().getClass().getSimpleName() + " operations");
    }
    if (closed) {
      return failed(call, true, "the store is closed");
    }
    StepResult result;
    try {
      result = call.kind() == StepCall.Kind.ACTION ? action(call, op) : compensation(call, op);
    } catch (SynodException e) {
      result = failure(call, e);
    } catch (RuntimeException e) {
      // Not a refusal of the store's: e.g. the coordinator closing under the call.
      result = failed(call, true, e.toString());
    }
    LOG.debug("saga {} step {} {} on store '{}': {}", call.sagaId(), call.step(),
        call.kind() == StepCall.Kind.ACTION ? "action" : "compensation", NAME, result);
    return result;
  }

  private StepResult action(StepCall call, StepOperation.Kv op) {
    return write(op, call.idempotencyKey()).duplicate()
        ? new StepResult.AlreadyApplied() : new StepResult.Applied();
  }

  private StepResult compensation(StepCall call, StepOperation.Kv op) {
    String actionKey = recordedKey(call.actionKey());
    return switch (kv.fence(op.tenantId(), actionKey, BARRIER_RETENTION)) {
      case NEVER_RAN -> new StepResult.Skipped();
      case FENCED_BEFORE -> new StepResult.AlreadyApplied();
      case IN_PROGRESS -> failed(call, true, "the action's write (idempotency key '" + actionKey
          + "') is still in progress; the compensation waits for its outcome");
      case APPLIED -> write(op, call.idempotencyKey()).duplicate()
          ? new StepResult.AlreadyApplied() : new StepResult.Applied();
    };
  }

  private KvWriteResult write(StepOperation.Kv op, String stepKey) {
    String key = recordedKey(stepKey);
    return op.delete()
        ? kv.delete(new KvDelete(op.tenantId(), op.key(), null, key), BARRIER_RETENTION)
        : kv.write(new KvWrite(op.tenantId(), op.key(), op.value().getBytes(
            StandardCharsets.UTF_8), null, key), BARRIER_RETENTION);
  }

  /**
   * The idempotency key a step key is recorded under: itself, or {@code sha256:} and its SHA-256
   * in hex when it is longer than the store takes. Step keys contain {@code _step_} or {@code
   * _comp_}, so no hashed key equals an unhashed one.
   */
  static String recordedKey(String stepKey) {
    if (stepKey.length() <= IdempotencyStore.IDEMPOTENCY_KEY_CHARS_MAX) {
      return stepKey;
    }
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(stepKey.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** A refusal of the key-value store's, as the barrier table says. */
  private StepResult failure(StepCall call, SynodException e) {
    if (e.code() == ErrorCode.FAILED_PRECONDITION
        && e.field().filter("idempotency_key"::equals).isPresent()) {
      // The action's key was fenced: its compensation ran first.
      return call.kind() == StepCall.Kind.ACTION ? new StepResult.Refused()
          : failed(call, false, e.getMessage());
    }
    return failed(call, RETRYABLE.contains(e.code()), e.getMessage());
  }

  private static StepResult failed(StepCall call, boolean retryable, String why) {
    return new StepResult.Failed(retryable, (call.kind() == StepCall.Kind.ACTION ? "action"
        : "compensation") + " of step '" + call.step() + "' on store '" + NAME + "': " + why);
  }

  /** Refuses further calls; the coordinator stays open (the server's key-value store owns it). */
  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return "KvSagaStore[" + NAME + "]";
  }
}
