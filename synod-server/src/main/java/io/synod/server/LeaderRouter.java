package io.synod.server;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationService;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.client.RemoteCoordination;
import io.synod.engine.SynodNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Sends each coordination call where it can be answered: to this node's coordinator while it
 * leads, otherwise over gRPC to the leader's API address. Only the leader coordinates, and only
 * it knows the runs in flight, so reads go there too: a follower's replica may lag the leader.
 *
 * <p>A forwarded call is never forwarded again. If two nodes each believe the other leads (a
 * moment during an election), the second one answers UNAVAILABLE and the client retries, rather
 * than the call bouncing between them.
 */
public final class LeaderRouter implements AutoCloseable {
  private static final Duration SHORT_CALL_TIMEOUT = Duration.ofSeconds(10);

  private final SynodNode node;
  private final Map<String, String> apiAddressById;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Telemetry telemetry;

  /**
   * @param apiAddressById every peer's gRPC {@code host:port}; empty for a single node
   * @param telemetry carries the caller's trace to the leader in forwarded calls
   */
  LeaderRouter(SynodNode node, Map<String, String> apiAddressById, Telemetry telemetry) {
    this.node = node;
    this.apiAddressById = Map.copyOf(apiAddressById);
    this.telemetry = telemetry;
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
    if (node.isLeader()) {
      return local.apply(node.coordination());
    }
    Optional<String> leader = node.groupInfo().leaderId();
    if (leader.isEmpty()) {
      throw new SynodException(ErrorCode.UNAVAILABLE, null,
          "no leader is known to node " + node.id() + " (an election may be under way); retry");
    }
    if (forwarded || leader.get().equals(node.id())) {
      throw new SynodException(ErrorCode.UNAVAILABLE, null, "node " + node.id()
          + " is not the leader" + (forwarded ? " (forwarded call); " : "; ") + "retry");
    }
    String address = apiAddressById.get(leader.get());
    if (address == null || address.isEmpty()) {
      throw new SynodException(ErrorCode.UNAVAILABLE, null, "the leader is " + leader.get()
          + " but its api_address is not configured on node " + node.id());
    }
    return remote.apply(new RemoteCoordination(channel(address), SHORT_CALL_TIMEOUT, true));
  }

  private ManagedChannel channel(String address) {
    return channels.computeIfAbsent(address,
        a -> NettyChannelBuilder.forTarget(a).usePlaintext().intercept(new TraceForwarding())
            .build());
  }

  /** Puts the current trace context in a forwarded call's metadata ({@code traceparent}). */
  private final class TraceForwarding implements ClientInterceptor {
    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method,
        CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          telemetry.inject(headers, (carrier, key, value) -> carrier.put(
              Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value));
          super.start(listener, headers);
        }
      };
    }
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
