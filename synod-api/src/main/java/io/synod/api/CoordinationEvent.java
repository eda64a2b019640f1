package io.synod.api;

import java.util.List;

/**
 * Events a coordinator publishes (spec 001: COORDINATION_STARTED, _COMPLETED, _FAILED; the lock
 * service's DEADLOCK_DETECTED).
 */
public sealed interface CoordinationEvent {

  /** The event type name as the spec spells it. */
  String type();

  String coordinationId();

  /** A coordination was accepted and is about to run. */
  record Started(
      String coordinationId, CoordinationType coordinationType, List<String> participatingStores,
      long startedAtMs) implements CoordinationEvent {
    public String type() {
      return "COORDINATION_STARTED";
    }
  }

  /** A coordination reached its outcome, commit or abort. */
  record Completed(
      String coordinationId, boolean success, TransactionState finalState,
      long executionDurationMs) implements CoordinationEvent {
    public String type() {
      return "COORDINATION_COMPLETED";
    }
  }

  /** A coordination could not be run to an outcome by the protocol (spec: an exception). */
  record Failed(String coordinationId, String errorMessage, long failedAtMs)
      implements CoordinationEvent {
    public String type() {
      return "COORDINATION_FAILED";
    }
  }

  /**
   * The lock service found a cycle in its wait-for graph and refused one waiting request (the
   * victim) to break it. {@code coordinationId} is the victim request's id.
   */
  record DeadlockDetected(
      String coordinationId, String victimSessionId, List<String> cycle, long detectedAtMs)
      implements CoordinationEvent {
    public DeadlockDetected {
      cycle = List.copyOf(cycle);
    }

    public String type() {
      return "DEADLOCK_DETECTED";
    }
  }
}
