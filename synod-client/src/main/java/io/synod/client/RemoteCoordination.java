package io.synod.client;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.proto.v1.AbortRequest;
import io.synod.proto.v1.CoordinationGrpc;
import io.synod.proto.v1.GetStatusRequest;
import io.synod.proto.v1.ListActiveRequest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The coordination calls of one synod server over one gRPC channel, each made once: no retries,
 * no failover. {@link SynodClient} adds those; a server uses this directly to forward a call to
 * its leader. Failures arrive as the {@link SynodException} the server raised.
 */
public final class RemoteCoordination {
  /** Marks a call that a server forwarded to its leader, so that it is never forwarded again. */
  public static final Metadata.Key<String> FORWARDED_KEY =
      Metadata.Key.of("synod-forwarded", Metadata.ASCII_STRING_MARSHALLER);

  /**
   * The HTTP/2 window of synod's channels, clients' and servers' alike: the messages are small,
   * and a fixed window turns off gRPC's bandwidth probing (pings on reads to tune the window).
   */
  public static final int FLOW_CONTROL_WINDOW = 1 << 20;

  /** Room beyond a coordination's own timeout for the answer to travel back. */
  private static final Duration ANSWER_MARGIN = Duration.ofSeconds(15);

  private final CoordinationGrpc.CoordinationBlockingStub stub;
  private final Duration callTimeout;

  /**
   * @param channel the server's channel; the caller owns it
   * @param callTimeout the deadline of the short calls (status, abort, list)
   * @param forwarded true when this is a server forwarding to its leader
   */
  public RemoteCoordination(Channel channel, Duration callTimeout, boolean forwarded) {
    Channel target = channel;
    if (forwarded) {
      Metadata headers = new Metadata();
      headers.put(FORWARDED_KEY, "1");
      target = ClientInterceptors.intercept(channel,
          MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.stub = CoordinationGrpc.newBlockingStub(target);
    this.callTimeout = callTimeout;
  }

  public CoordinationResult coordinate(CoordinationRequest request) {
    Duration deadline = (request.timeout() == null ? Duration.ofSeconds(30) : request.timeout())
        .plus(ANSWER_MARGIN);
    return ProtoMapping.call(() -> ProtoMapping.fromProto(stub
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .coordinate(ProtoMapping.toProto(request))));
  }

  public Optional<CoordinationResult> status(String coordinationId) {
    return ProtoMapping.find(() -> ProtoMapping.fromProto(shortCall().getStatus(
        GetStatusRequest.newBuilder().setCoordinationId(coordinationId).build())));
  }

  public boolean abort(String coordinationId, String reason) {
    return ProtoMapping.call(() -> shortCall().abort(AbortRequest.newBuilder()
        .setCoordinationId(coordinationId).setReason(reason == null ? "" : reason).build())
        .getAborted());
  }

  public List<String> listActive() {
    return ProtoMapping.call(() -> shortCall().listActive(ListActiveRequest.getDefaultInstance())
        .getCoordinationIdsList());
  }

  private CoordinationGrpc.CoordinationBlockingStub shortCall() {
    return stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
