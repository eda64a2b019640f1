package io.synod.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.synod.client.RemoteCoordination;

/**
 * What the server needs to know about a gRPC call beyond its message: was it forwarded, and the
 * caller's {@code idempotency-key} header if it sent one.
 */
public final class CallContext implements ServerInterceptor {
  static final Context.Key<Boolean> FORWARDED = Context.key("synod-forwarded");
  static final Context.Key<String> IDEMPOTENCY_KEY = Context.key("synod-idempotency-key");
  private static final Metadata.Key<String> IDEMPOTENCY_HEADER =
      Metadata.Key.of("idempotency-key", Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    boolean forwarded = headers.containsKey(RemoteCoordination.FORWARDED_KEY);
    String key = headers.get(IDEMPOTENCY_HEADER);
    Context context = Context.current().withValue(FORWARDED, forwarded)
        .withValue(IDEMPOTENCY_KEY, key == null || key.isBlank() ? null : key.strip());
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** The idempotency-key header of the current call, or null. */
  static String idempotencyKey() {
    return IDEMPOTENCY_KEY.get();
  }

  static boolean forwarded() {
    return Boolean.TRUE.equals(FORWARDED.get());
  }
}
