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
import io.grpc.stub.MetadataUtils;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.client.RemoteCoordination;
import io.synod.engine.SynodNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Where a call goes when this node does not lead: over gRPC to the leader's configured
 * {@code api_address}. Only the leader coordinates and holds the lock service's keepalives, so
 * every API call is served there.
 *
 * <p>A forwarded call carries {@code synod-forwarded} and is never forwarded again: if two nodes
 * each believe the other leads (a moment during an election), the second answers UNAVAILABLE and
 * the client retries, rather than the call bouncing between them. It also carries the caller's
 * trace context ({@code traceparent}).
 */
final class Forwarding implements AutoCloseable {
  private final SynodNode node;
  private final Map<String, String> apiAddressById;
  private final Telemetry telemetry;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  /** @param apiAddressById every peer's gRPC {@code host:port}; empty for a single node */
  Forwarding(SynodNode node, Map<String, String> apiAddressById, Telemetry telemetry) {
    this.node = node;
    this.apiAddressById = Map.copyOf(apiAddressById);
    this.telemetry = telemetry;
  }

  /**
   * Empty while this node leads (serve the call here); otherwise a channel to the leader.
   *
   * @param forwarded the call was forwarded to this node already
   * @throws SynodException UNAVAILABLE when there is no leader to forward to
   */
  Optional<Channel> leaderChannel(boolean forwarded) {
    if (node.isLeader()) {
      return Optional.empty();
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
    return Optional.of(channels.computeIfAbsent(address, this::open));
  }

  /**
   * Serves a call where it can be answered: {@code here} while this node leads, otherwise {@code
   * atLeader} over a channel to the leader (whose calls carry the forwarded mark).
   */
  <T> T route(boolean forwarded, Supplier<T> here, Function<Channel, T> atLeader) {
    Optional<Channel> leader = leaderChannel(forwarded);
    return leader.isEmpty() ? here.get() : atLeader.apply(leader.get());
  }

  private ManagedChannel open(String address) {
    Metadata forwardedHeader = new Metadata();
    forwardedHeader.put(RemoteCoordination.FORWARDED_KEY, "1");
    return NettyChannelBuilder.forTarget(address).usePlaintext()
        .flowControlWindow(RemoteCoordination.FLOW_CONTROL_WINDOW)
        .intercept(List.of(MetadataUtils.newAttachHeadersInterceptor(forwardedHeader),
            new TraceForwarding()))
        .build();
  }

  /** Puts the current trace context in a forwarded call's metadata. */
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
