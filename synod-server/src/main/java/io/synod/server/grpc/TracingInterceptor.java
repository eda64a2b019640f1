package io.synod.server.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.synod.server.Telemetry;

/**
 * A SERVER span per gRPC call, child of the caller's {@code traceparent} metadata; every callback
 * of the call runs with it current (so the coordinator's spans hang below it), and it ends when
 * the call closes, with the status code as an attribute.
 */
public final class TracingInterceptor implements ServerInterceptor {
  private static final TextMapGetter<Metadata> METADATA = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Metadata carrier) {
      return carrier.keys();
    }

    @Override
    public String get(Metadata carrier, String key) {
      return carrier == null ? null
          : carrier.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
    }
  };

  private final Telemetry telemetry;

  public TracingInterceptor(Telemetry telemetry) {
    this.telemetry = telemetry;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Span span = telemetry.startServerSpan(call.getMethodDescriptor().getFullMethodName(),
        headers, METADATA);
    span.setAttribute("rpc.system", "grpc");
    ServerCall<Q, R> traced = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        span.setAttribute("rpc.grpc.status_code", status.getCode().value());
        if (!status.isOk()) {
          span.setStatus(StatusCode.ERROR, status.getCode().name());
        }
        span.end();
        super.close(status, trailers);
      }
    };
    ServerCall.Listener<Q> listener = Telemetry.within(span, () -> next.startCall(traced, headers));
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(Q message) {
        Telemetry.within(span, () -> {
          super.onMessage(message);
          return null;
        });
      }

      @Override
      public void onHalfClose() {
        Telemetry.within(span, () -> {
          super.onHalfClose();
          return null;
        });
      }

      @Override
      public void onCancel() {
        Telemetry.within(span, () -> {
          super.onCancel();
          return null;
        });
      }
    };
  }
}
