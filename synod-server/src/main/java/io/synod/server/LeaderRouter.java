package io.synod.server;

import io.grpc.Channel;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationService;
import io.synod.client.RemoteCoordination;
import io.synod.engine.SynodNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
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

  LeaderRouter(SynodNode node, Forwarding forwarding) {
    this.node = node;
    this.forwarding = forwarding;
  }

  public CoordinationResult coordinate(CoordinationRequest request, boolean forwarded) {
    return route(forwarded, local -> runHere(local, request),
        remote -> remote.coordinate(request));
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
    Optional<Channel> leader = forwarding.leaderChannel(forwarded);
    return leader.isEmpty() ? local.apply(node.coordination())
        : remote.apply(new RemoteCoordination(leader.get(), SHORT_CALL_TIMEOUT, false));
  }
}
