package io.synod.server;

import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationService;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.client.RemoteCoordination;
import io.synod.engine.SynodNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Sends each coordination call where it can be answered: to this node's coordinator while it
 * leads, otherwise to the leader (see {@link Forwarding}). Only the leader coordinates, and only
 * it knows the runs in flight, so reads go there too: a follower's replica may lag the leader.
 */
public final class LeaderRouter {
  private static final Duration SHORT_CALL_TIMEOUT = Duration.ofSeconds(10);

  private final SynodNode node;
  private final Forwarding forwarding;
  /** Stores that serve saga steps only (redis): named in a coordination, the error says so. */
  private final Set<String> sagaOnlyStores;

  LeaderRouter(SynodNode node, Forwarding forwarding, Set<String> sagaOnlyStores) {
    this.node = node;
    this.forwarding = forwarding;
    this.sagaOnlyStores = Set.copyOf(sagaOnlyStores);
  }

  public CoordinationResult coordinate(CoordinationRequest request, boolean forwarded) {
    try {
      return route(forwarded, local -> runHere(local, request),
          remote -> remote.coordinate(request));
    } catch (SynodException e) {
      throw sagaOnly(e);
    }
  }

  /** The validator's "unknown store 'x'" for a store that serves saga steps only, explained. */
  private SynodException sagaOnly(SynodException e) {
    if (e.code() != ErrorCode.INVALID_ARGUMENT) {
      return e;
    }
    for (String store : sagaOnlyStores) {
      String unknown = "unknown store '" + store + "'";
      int at = e.getMessage().indexOf(unknown);
      if (at >= 0) {
        String rest = e.getMessage().substring(at + unknown.length())
            .replace("; configured stores are ", "; the stores of atomic commit are ");
        return new SynodException(ErrorCode.INVALID_ARGUMENT, e.field().orElse(null),
            "store '" + store + "' is a redis store, which serves saga steps only, not atomic"
                + " commit" + rest);
      }
    }
    return e;
  }

  /**
   * A platform thread (gRPC's) drives the run itself: no hand-off. A virtual thread (HTTP's)
   * hands it to the coordinator's platform threads and waits: JDBC on virtual threads costs
   * more per call than the hand-off (see the Coordinator's pools).
   */
  private static CoordinationResult runHere(CoordinationService local,
      CoordinationRequest request) {
    return Thread.currentThread().isVirtual()
        ? CoordinationService.await(local.coordinate(request))
        : local.coordinateAndWait(request);
  }

  public Optional<CoordinationResult> status(String coordinationId, boolean forwarded) {
    return route(forwarded, local -> local.status(coordinationId),
        remote -> remote.status(coordinationId));
  }

  public boolean abort(String coordinationId, String reason, boolean forwarded) {
    return route(forwarded, local -> local.abort(coordinationId, reason),
        remote -> remote.abort(coordinationId, reason));
  }

  public List<String> listActive(boolean forwarded) {
    return route(forwarded, CoordinationService::listActive, RemoteCoordination::listActive);
  }

  private <T> T route(boolean forwarded, Function<CoordinationService, T> local,
      Function<RemoteCoordination, T> remote) {
    return forwarding.route(forwarded, () -> local.apply(node.coordination()),
        leader -> remote.apply(new RemoteCoordination(leader, SHORT_CALL_TIMEOUT, false)));
  }
}
