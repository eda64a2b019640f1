package io.synod.api;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** The coordination operations of spec 001: coordinate, status, abort, list active. */
public interface CoordinationService extends AutoCloseable {

  /**
   * Runs a coordination to its outcome. The future completes with a result for every outcome the
   * protocol can reach, commit or abort; it completes exceptionally with {@link SynodException}
   * only for a request that was refused before anything ran (bad input: {@code
   * INVALID_ARGUMENT}), or when this coordinator cannot decide at all ({@code UNAVAILABLE}, for
   * example a follower in a cluster).
   *
   * <p>A {@code coordinationId} that was used before returns the first coordination's outcome
   * and runs nothing again.
   */
  CompletableFuture<CoordinationResult> coordinate(CoordinationRequest request);

  /**
   * Runs a coordination to its outcome on the calling thread and returns the result: the same
   * outcomes and errors as {@link #coordinate}, thrown as {@link SynodException}. For callers
   * that would only wait on the future anyway (a thread per request): the coordinator need not
   * hand the work to a thread of its own and back.
   */
  default CoordinationResult coordinateAndWait(CoordinationRequest request) {
    return await(coordinate(request));
  }

  /**
   * Waits for the outcome of {@link #coordinate}: the result, or the {@link SynodException} the
   * future failed with, thrown as it is.
   */
  static CoordinationResult await(CompletableFuture<CoordinationResult> outcome) {
    try {
      return outcome.join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof SynodException synod) {
        throw synod;
      }
      throw new SynodException(ErrorCode.INTERNAL, "coordination failed: " + e.getCause(), e);
    }
  }

  /** The current status of a coordination, or empty if this id is unknown. */
  Optional<CoordinationResult> status(String coordinationId);

  /**
   * Asks a coordination to abort. Returns true if it is now certain to abort, false if it had
   * already been decided to commit (a commit decision is never reversed) or is unknown.
   */
  boolean abort(String coordinationId, String reason);

  /** The ids of coordinations that have not reached a terminal state. */
  List<String> listActive();

  /** Where this service publishes COORDINATION_STARTED, _COMPLETED and _FAILED. */
  EventBus events();

  @Override
  void close();
}
