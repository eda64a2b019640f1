package io.synod.kv.coordinator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Waits for {@code required} of several replicas' answers: completes as soon as that many
 * succeeded, or as soon as so many failed that it can no longer happen. The calls still running
 * go on; {@link #all()} completes when every one has ended, for work that wants every answer
 * (asynchronous read repair, the rest of a write).
 */
final class Gather<T> {
  /** What had answered when the gather completed. */
  record Outcome<T>(Map<String, T> answers, Map<String, Throwable> failures, boolean reached) {}

  private final int required;
  private final int total;
  private final Map<String, T> answers = new LinkedHashMap<>();
  private final Map<String, Throwable> failures = new LinkedHashMap<>();
  private final CompletableFuture<Outcome<T>> outcome = new CompletableFuture<>();
  private final CompletableFuture<Map<String, T>> all = new CompletableFuture<>();

  private Gather(int required, int total) {
    this.required = required;
    this.total = total;
  }

  /** Gathers the calls, keyed by node id, until {@code required} succeeded or cannot. */
  static <T> Gather<T> of(Map<String, CompletableFuture<T>> calls, int required) {
    Gather<T> gather = new Gather<>(required, calls.size());
    if (calls.isEmpty() || required <= 0) {
      gather.outcome.complete(new Outcome<>(Map.of(), Map.of(), required <= 0));
      gather.all.complete(Map.of());
      return gather;
    }
    calls.forEach((node, call) -> call.whenComplete((value, error) -> gather.ended(node, value,
        error)));
    return gather;
  }

  private void ended(String node, T value, Throwable error) {
    Outcome<T> done = null;
    Map<String, T> every = null;
    synchronized (this) {
      if (error == null) {
        answers.put(node, value);
      } else {
        failures.put(node, unwrap(error));
      }
      if (!outcome.isDone()) {
        if (answers.size() >= required) {
          done = snapshot(true);
        } else if (total - failures.size() < required) {
          done = snapshot(false);
        }
      }
      if (answers.size() + failures.size() == total) {
        every = Collections.unmodifiableMap(new LinkedHashMap<>(answers));
        if (done == null && !outcome.isDone()) {
          done = snapshot(answers.size() >= required);
        }
      }
    }
    if (done != null) {
      outcome.complete(done);
    }
    if (every != null) {
      all.complete(every);
    }
  }

  private Outcome<T> snapshot(boolean reached) {
    return new Outcome<>(Collections.unmodifiableMap(new LinkedHashMap<>(answers)),
        Collections.unmodifiableMap(new LinkedHashMap<>(failures)), reached);
  }

  CompletableFuture<Outcome<T>> outcome() {
    return outcome;
  }

  /** Every successful answer, once every call has ended. */
  CompletableFuture<Map<String, T>> all() {
    return all;
  }

  static Throwable unwrap(Throwable error) {
    Throwable e = error;
    while ((e instanceof java.util.concurrent.CompletionException
        || e instanceof java.util.concurrent.ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /** "n4: unreachable ...; n5: ..." for an error message. */
  static String describe(Map<String, Throwable> failures) {
    List<String> parts = new ArrayList<>();
    failures.forEach((node, error) -> parts.add(node + ": " + error.getMessage()));
    return String.join("; ", parts);
  }
}
