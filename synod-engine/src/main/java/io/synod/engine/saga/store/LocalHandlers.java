package io.synod.engine.saga.store;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The application's own saga steps, by name: what a {@link io.synod.api.saga.StepOperation.Local}
 * names as its {@code store}. Thread-safe; register before the sagas that use a name start.
 *
 * <pre>{@code
 * handlers.register("email",
 *     call -> mailer.sendOnce(call.idempotencyKey(), args(call)),
 *     call -> new StepResult.Skipped()); // a sent mail cannot be unsent
 * }</pre>
 */
public final class LocalHandlers {
  /**
   * Runs one try of a local step. It must be idempotent under {@link StepCall#idempotencyKey()}
   * (the same key may come again after a crash or a timeout) and answer as a {@link SagaStore}
   * does; a thrown exception is taken for a retryable {@link StepResult.Failed}.
   */
  @FunctionalInterface
  public interface Handler {
    StepResult apply(StepCall call) throws Exception;
  }

  private record Pair(Handler action, Handler compensation) {}

  private final ConcurrentMap<String, Pair> byName = new ConcurrentHashMap<>();

  /**
   * Registers the handlers of {@code name}.
   *
   * @param compensation null for a step that needs none; a compensation call then fails
   * @throws IllegalArgumentException if {@code name} is registered already
   */
  public LocalHandlers register(String name, Handler action, Handler compensation) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(action, "action");
    if (name.isBlank()) {
      throw new IllegalArgumentException("local handler name must not be blank");
    }
    if (byName.putIfAbsent(name, new Pair(action, compensation)) != null) {
      throw new IllegalArgumentException("local handler '" + name + "' is registered already");
    }
    return this;
  }

  /** The names registered so far. */
  public Set<String> names() {
    return Set.copyOf(byName.keySet());
  }

  /** The handler of {@code name} for {@code kind}; empty if there is none. */
  Optional<Handler> find(String name, StepCall.Kind kind) {
    Pair pair = byName.get(name);
    if (pair == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(kind == StepCall.Kind.ACTION ? pair.action() : pair.compensation());
  }
}
