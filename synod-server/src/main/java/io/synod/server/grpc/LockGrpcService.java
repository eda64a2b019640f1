package io.synod.server.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.synod.api.SynodException;
import io.synod.client.ProtoMapping;
import io.synod.proto.v1.AcquireRequest;
import io.synod.proto.v1.AcquireResponse;
import io.synod.proto.v1.CloseSessionRequest;
import io.synod.proto.v1.CloseSessionResponse;
import io.synod.proto.v1.KeepAliveRequest;
import io.synod.proto.v1.KeepAliveResponse;
import io.synod.proto.v1.LockStatusRequest;
import io.synod.proto.v1.LockStatusResponse;
import io.synod.proto.v1.LocksGrpc;
import io.synod.proto.v1.OpenSessionRequest;
import io.synod.proto.v1.ReleaseRequest;
import io.synod.proto.v1.ReleaseResponse;
import io.synod.proto.v1.Session;
import io.synod.server.LockRouter;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Locks gRPC service: each call goes to {@link LockRouter}, which sends it to the leader. */
public final class LockGrpcService extends LocksGrpc.LocksImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(LockGrpcService.class);

  private final LockRouter locks;

  public LockGrpcService(LockRouter locks) {
    this.locks = locks;
  }

  @Override
  public void openSession(OpenSessionRequest request, StreamObserver<Session> response) {
    Calls.unary(response, () -> locks.openSession(request, CallContext.forwarded()));
  }

  @Override
  public void keepAliveOnce(KeepAliveRequest request,
      StreamObserver<KeepAliveResponse> response) {
    Calls.unary(response, () -> locks.keepAlive(request, CallContext.forwarded()));
  }

  /**
   * Answers each keepalive in order. On a follower each is relayed to the leader as it comes; a
   * failure (no leader, say) ends the stream with its status, and the client opens another.
   */
  @Override
  public StreamObserver<KeepAliveRequest> keepAlive(StreamObserver<KeepAliveResponse> response) {
    boolean forwarded = CallContext.forwarded();
    ServerCallStreamObserver<KeepAliveResponse> stream =
        (ServerCallStreamObserver<KeepAliveResponse>) response;
    return new StreamObserver<>() {
      private boolean done;

      @Override
      public void onNext(KeepAliveRequest request) {
        if (done || stream.isCancelled()) {
          return;
        }
        try {
          stream.onNext(locks.keepAlive(request, forwarded));
        } catch (SynodException e) {
          done = true;
          stream.onError(ProtoMapping.toStatus(e));
        } catch (RuntimeException e) {
          done = true;
          LOG.error("a keepalive failed unexpectedly", e);
          stream.onError(Status.INTERNAL.withDescription("internal error: " + e)
              .asRuntimeException());
        }
      }

      @Override
      public void onError(Throwable error) {
        done = true; // the client went away
      }

      @Override
      public void onCompleted() {
        if (!done) {
          done = true;
          stream.onCompleted();
        }
      }
    };
  }

  /** Answers when the lock is granted or refused; no thread waits meanwhile on the leader. */
  @Override
  public void acquire(AcquireRequest request, StreamObserver<AcquireResponse> response) {
    locks.acquire(request, CallContext.forwarded()).whenComplete((granted, error) -> {
      if (error == null) {
        response.onNext(granted);
        response.onCompleted();
        return;
      }
      Throwable cause = error instanceof CompletionException && error.getCause() != null
          ? error.getCause() : error;
      if (cause instanceof SynodException synod) {
        response.onError(ProtoMapping.toStatus(synod));
      } else {
        LOG.error("an acquire failed unexpectedly", cause);
        response.onError(Status.INTERNAL.withDescription("internal error: " + cause)
            .asRuntimeException());
      }
    });
  }

  @Override
  public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> response) {
    Calls.unary(response, () -> locks.release(request, CallContext.forwarded()));
  }

  @Override
  public void closeSession(CloseSessionRequest request,
      StreamObserver<CloseSessionResponse> response) {
    Calls.unary(response, () -> locks.closeSession(request, CallContext.forwarded()));
  }

  @Override
  public void getStatus(LockStatusRequest request, StreamObserver<LockStatusResponse> response) {
    Calls.unary(response, () -> locks.status(request, CallContext.forwarded()));
  }
}
