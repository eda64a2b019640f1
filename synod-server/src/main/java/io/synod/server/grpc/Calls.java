package io.synod.server.grpc;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.synod.api.SynodException;
import io.synod.client.ProtoMapping;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs a unary call's body and answers with its value or with the status its failure maps to. */
final class Calls {
  private static final Logger LOG = LoggerFactory.getLogger(Calls.class);

  private Calls() {}

  static <T> void unary(StreamObserver<T> response, Supplier<T> body) {
    T value;
    try {
      value = body.get();
    } catch (SynodException e) {
      response.onError(ProtoMapping.toStatus(e));
      return;
    } catch (RuntimeException e) {
      LOG.error("a gRPC call failed unexpectedly", e);
      response.onError(Status.INTERNAL.withDescription("internal error: " + e).asRuntimeException());
      return;
    }
    response.onNext(value);
    response.onCompleted();
  }
}
