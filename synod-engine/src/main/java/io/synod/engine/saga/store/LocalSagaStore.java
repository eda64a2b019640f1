package io.synod.engine.saga.store;

import io.synod.api.saga.StepOperation;
import io.synod.engine.participant.AbortClassifier;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link StepOperation.Local} steps through the application's {@link LocalHandlers}: one
 * store for every handler, named {@value #NAME}; the operation's {@code store} names the handler.
 * There is no barrier here: the handler keeps its own idempotency under the call's key. Only an
 * embedded engine has handlers to run.
 */
public final class LocalSagaStore implements SagaStore {
  private static final Logger LOG = LoggerFactory.getLogger(LocalSagaStore.class);

  /** This store's name; local operations name their handler instead. */
  public static final String NAME = "local";

  private final LocalHandlers handlers;

  public LocalSagaStore(LocalHandlers handlers) {
    this.handlers = Objects.requireNonNull(handlers, "handlers");
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public StepResult apply(StepCall call) {
    Objects.requireNonNull(call, "call");
    if (!(call.operation() instanceof StepOperation.Local local)) {
      return new StepResult.Failed(false, call.what() + ": the local store runs local handlers,"
          + " not " + call.operation().getClass().getSimpleName());
    }
    Optional<LocalHandlers.Handler> handler = handlers.find(local.store(), call.kind());
    if (handler.isEmpty()) {
      return new StepResult.Failed(false, call.what() + ": no local handler '" + local.store()
          + "' has a" + (call.kind() == StepCall.Kind.ACTION ? "n action" : " compensation")
          + " registered");
    }
    return run(handler.get(), call, local.store());
  }

  private static StepResult run(LocalHandlers.Handler handler, StepCall call, String name) {
    try {
      StepResult result = handler.apply(call);
      if (result == null) {
        return new StepResult.Failed(false, call.what() + ": local handler '" + name
            + "' answered null");
      }
      return result;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new StepResult.Failed(true, call.what() + ": interrupted");
    } catch (Exception e) {
      LOG.debug("local handler '{}' failed on {}", name, call.what(), e);
      return new StepResult.Failed(true, call.what() + ": local handler '" + name + "' failed: "
          + AbortClassifier.firstLine(e.toString()));
    }
  }

  /** Nothing to release: the handlers belong to the application. */
  @Override
  public void close() {}
}
