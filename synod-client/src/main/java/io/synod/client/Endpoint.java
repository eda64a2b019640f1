package io.synod.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.synod.proto.v1.ClusterGrpc;
import io.synod.proto.v1.ClusterStatus;
import io.synod.proto.v1.ClusterStatusRequest;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One server of a {@link SynodClient}: its {@code host:port}, its channel (plaintext gRPC) and
 * the calls made once over it.
 */
record Endpoint(String address, ManagedChannel channel, RemoteCoordination coordination,
    Duration callTimeout) {

  /** Opens a channel to {@code address}; the channel connects lazily, on the first call. */
  static Endpoint open(String address, Duration callTimeout) {
    HostPort target = HostPort.parse(address);
    ManagedChannel channel = NettyChannelBuilder.forAddress(target.host(), target.port())
        .usePlaintext()
        .flowControlWindow(RemoteCoordination.FLOW_CONTROL_WINDOW)
        .build();
    return new Endpoint(address, channel, new RemoteCoordination(channel, callTimeout, false),
        callTimeout);
  }

  /** The saga calls over this endpoint's channel, each made once. */
  RemoteSagas sagas() {
    return new RemoteSagas(channel, callTimeout);
  }

  /** The KeyValue calls over this endpoint's channel, each made once. */
  RemoteKv kv() {
    return new RemoteKv(channel, callTimeout);
  }

  /** The Events service's unary calls over this endpoint's channel, each made once. */
  RemoteEvents events() {
    return new RemoteEvents(channel, callTimeout);
  }

  ClusterStatus clusterStatus() {
    return ProtoMapping.call(() -> ClusterGrpc.newBlockingStub(channel)
        .withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .getStatus(ClusterStatusRequest.getDefaultInstance()));
  }

  /**
   * After a failure: if the channel is waiting out its reconnect backoff (which grows to minutes),
   * it tries again at once, so that a server that came back is used on the next attempt.
   */
  void reconnectSoon() {
    channel.resetConnectBackoff();
  }

  void close() {
    channel.shutdownNow();
  }

  void awaitClosed(Duration timeout) throws InterruptedException {
    channel.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A server address as {@code host:port}; an IPv6 host goes in brackets ({@code [::1]:7790}). */
  record HostPort(String host, int port) {
    static HostPort parse(String address) {
      if (address == null || address.isBlank()) {
        throw new IllegalArgumentException("a server address must be host:port; got nothing");
      }
      String trimmed = address.strip();
      int colon = trimmed.lastIndexOf(':');
      if (colon <= 0 || colon == trimmed.length() - 1) {
        throw new IllegalArgumentException("a server address must be host:port (for example "
            + "127.0.0.1:7790); got '" + address + "'");
      }
      String host = trimmed.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return new HostPort(host, port(trimmed.substring(colon + 1), address));
    }

    private static int port(String text, String address) {
      int port;
      try {
        port = Integer.parseInt(text);
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (port < 1 || port > 65_535) {
        throw new IllegalArgumentException("the port of server address '" + address
            + "' must be a number from 1 to 65535");
      }
      return port;
    }
  }
}
