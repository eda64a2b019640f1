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
