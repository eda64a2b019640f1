package io.synod.server;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaService;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.client.RemoteSagas;
import io.synod.client.SagaProtoMapping;
import io.synod.engine.SynodNode;
import io.synod.server.config.ServerConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends each saga call where it can be answered: to this node's saga driver while it leads,
 * otherwise to the leader (see {@link Forwarding}). Only the leader runs sagas and logs their
 * starts, and a follower's replica may lag, so reads go there too.
 *
 * <p><b>Waiting.</b> A start that waits answers when the saga has completed, aborted or failed,
 * or after {@code waitFor} (60 s unless the caller asks otherwise, at most 1 h), whichever comes
 * first: then with the status it has at that moment. A wait never holds a thread for longer, and
 * the caller asks again (the same start, or status) for the rest.
 *
 * <p>Errors name the field as the APIs do ({@link SagaProtoMapping#wireField}).
 */
public final class SagaRouter {
  private static final Duration SHORT_CALL_TIMEOUT = Duration.ofSeconds(10);

  private final SynodNode node;
  private final Forwarding forwarding;
  /** Whether this server runs the key-value store, which saga steps name {@code kv}. */
  private final boolean kvEnabled;

  SagaRouter(SynodNode node, Forwarding forwarding, boolean kvEnabled) {
    this.node = node;
    this.forwarding = forwarding;
    this.kvEnabled = kvEnabled;
  }

  /**
   * Logs and starts the saga (a known id starts nothing again) and answers its status: at once
   * when {@code wait} is false, otherwise when it has finished or after {@code waitFor}.
   */
  public SagaStatus start(String sagaId, SagaDefinition definition, Map<String, Object> input,
      boolean wait, Duration waitFor, boolean forwarded) {
    try {
      return forwarding.route(forwarded,
          () -> kvDisabled(() -> startHere(sagaId, definition, input, wait, waitFor)),
          leader -> new RemoteSagas(leader, SHORT_CALL_TIMEOUT).start(
              SagaProtoMapping.toProto(sagaId, definition, input, wait, waitFor)));
    } catch (SynodException e) {
      throw SagaProtoMapping.onWire(e);
    }
  }

  private SagaStatus startHere(String sagaId, SagaDefinition definition,
      Map<String, Object> input, boolean wait, Duration waitFor) {
    SagaService sagas = node.sagas();
    CompletableFuture<SagaStatus> outcome = sagas.start(sagaId, definition, input);
    if (outcome.isDone()) { // refused, or known and finished already
      return await(outcome, Duration.ZERO);
    }
    // Logged (or known already). A failed saga does not finish again until recovery moves it.
    SagaStatus now = current(sagaId);
    if (!wait || now.state() == SagaState.FAILED) {
      return now;
    }
    SagaStatus finished = await(outcome, waitFor);
    return finished != null ? finished : current(sagaId);
  }

  /**
   * The saga driver's "unknown store 'kv'" on a server without the key-value store, explained:
   * the name is right, the store is switched off here.
   */
  private SagaStatus kvDisabled(java.util.function.Supplier<SagaStatus> start) {
    try {
      return start.get();
    } catch (SynodException e) {
      String unknown = "unknown store '" + ServerConfig.Kv.SAGA_STORE_NAME + "'";
      if (kvEnabled || e.code() != ErrorCode.INVALID_ARGUMENT
          || !e.getMessage().contains(unknown)) {
        throw e;
      }
      throw new SynodException(ErrorCode.INVALID_ARGUMENT, e.field().orElse(null), "store '"
          + ServerConfig.Kv.SAGA_STORE_NAME + "' is the key-value store, which is disabled on"
          + " the server that runs sagas (kv.enabled: false)");
    }
  }

  /** The outcome, or null if it did not come within {@code waitFor}. */
  private static SagaStatus await(CompletableFuture<SagaStatus> outcome, Duration waitFor) {
    try {
      return waitFor.isZero() ? outcome.get()
          : outcome.get(waitFor.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while waiting for the saga",
          e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SynodException synod) {
        throw synod;
      }
      throw new SynodException(ErrorCode.INTERNAL, "the saga's start failed: " + e.getCause(),
          e.getCause());
    }
  }

  private SagaStatus current(String sagaId) {
    return node.sagas().status(sagaId).orElseThrow(() -> new SynodException(
        ErrorCode.NOT_FOUND, "saga_id", "no saga '" + sagaId + "' is known"));
  }

  public Optional<SagaStatus> status(String sagaId, boolean forwarded) {
    return forwarding.route(forwarded, () -> node.sagas().status(sagaId),
        leader -> new RemoteSagas(leader, SHORT_CALL_TIMEOUT).status(sagaId));
  }

  public List<String> listActive(boolean forwarded) {
    return forwarding.route(forwarded, () -> node.sagas().listActive(),
        leader -> new RemoteSagas(leader, SHORT_CALL_TIMEOUT).listActive());
  }

  public boolean abort(String sagaId, String reason, boolean forwarded) {
    return forwarding.route(forwarded, () -> node.sagas().abort(sagaId, reason),
        leader -> new RemoteSagas(leader, SHORT_CALL_TIMEOUT).abort(sagaId, reason));
  }
}
