package io.synod.kv.node;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.synod.api.kv.Versioned;
import io.synod.kv.proto.DropRequest;
import io.synod.kv.proto.GetRequest;
import io.synod.kv.proto.GetResponse;
import io.synod.kv.proto.InfoRequest;
import io.synod.kv.proto.InfoResponse;
import io.synod.kv.proto.KeyVersions;
import io.synod.kv.proto.PutRequest;
import io.synod.kv.proto.PutResponse;
import io.synod.kv.proto.ScanRequest;
import io.synod.kv.proto.StorageNodeGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A coordinator's connection to one storage node: one gRPC channel, every call with a deadline.
 *
 * <p>Reads and writes are asynchronous, so a coordinator can ask all replicas at once and go on
 * at the first quorum. A failed call completes the future with a {@link CompletionException}
 * whose cause is a {@link StorageNodeException} naming the node and the reason. Info, scans and
 * drops (health checks and migration) are blocking, and throw that exception.
 *
 * <p>Reconnecting: after a node goes away gRPC waits longer and longer (up to minutes) before it
 * dials again, and fails calls fast meanwhile. A node back from a restart should serve again at
 * once: see {@code reconnectSoon}.
 */
public final class StorageNodeClient implements StorageNodeApi {
  /** The least time between two dials that calls ask for while the node is unreachable. */
  public static final Duration RECONNECT_INTERVAL_MIN = Duration.ofMillis(200);
  /** How long {@link #info()} waits for the node. */
  public static final Duration INFO_TIMEOUT = Duration.ofSeconds(5);
  private static final long SHUTDOWN_WAIT_SECONDS = 5;

  /** A node's answer to Info: its id and about how many keys it holds. */
  public record NodeInfo(String nodeId, long estimatedKeys) {}

  private final String nodeId;
  private final String address;
  private final ManagedChannel channel;
  private final StorageNodeGrpc.StorageNodeStub async;
  private final StorageNodeGrpc.StorageNodeBlockingStub blocking;
  private final AtomicLong lastReconnectNanos =
      new AtomicLong(System.nanoTime() - RECONNECT_INTERVAL_MIN.toNanos());

  /** A client of node {@code nodeId} at {@code address} ({@code host:port}). */
  public StorageNodeClient(String nodeId, String address) {
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
    this.address = checkAddress(nodeId, address);
    this.channel = NettyChannelBuilder.forTarget(address)
        .usePlaintext()
        .maxInboundMessageSize(StorageNode.MESSAGE_BYTES_MAX)
        // Answers are handed to futures that do nothing slow: complete them on the network thread.
        .directExecutor()
        .build();
    this.async = StorageNodeGrpc.newStub(channel);
    this.blocking = StorageNodeGrpc.newBlockingStub(channel);
  }

  public String nodeId() {
    return nodeId;
  }

  public String address() {
    return address;
  }

  /** The key's siblings on this node; empty if it has none. */
  public CompletableFuture<List<Versioned>> get(String tenantId, String key, Duration timeout) {
    GetRequest request = GetRequest.newBuilder().setTenantId(tenantId).setKey(key).build();
    return this.<GetResponse, List<Versioned>>unary("get", timeout,
        (stub, observer) -> stub.get(request, observer),
        response -> VersionMapping.fromProto(response.getVersionsList(), "versions"));
  }

  /** Merges {@code versions} into the key's siblings on this node; answers the siblings after. */
  public CompletableFuture<List<Versioned>> put(String tenantId, String key,
      List<Versioned> versions, Duration timeout) {
    PutRequest request = PutRequest.newBuilder().setTenantId(tenantId).setKey(key)
        .addAllVersions(VersionMapping.toProto(versions)).build();
    return this.<PutResponse, List<Versioned>>unary("put", timeout,
        (stub, observer) -> stub.put(request, observer),
        response -> VersionMapping.fromProto(response.getVersionsList(), "versions"));
  }

  /** The node's id and size, within {@link #INFO_TIMEOUT}. Blocking. */
  public NodeInfo info() {
    return info(INFO_TIMEOUT);
  }

  /**
   * The node's id and size: a health check, and proof that the address reaches the node meant.
   * Blocking.
   *
   * @throws StorageNodeException if the node cannot be reached or answers later than {@code
   *     timeout}
   */
  public NodeInfo info(Duration timeout) {
    try {
      InfoResponse response = blocking(timeout)
          .info(InfoRequest.getDefaultInstance());
      return new NodeInfo(response.getNodeId(), response.getEstimatedKeys());
    } catch (StatusRuntimeException e) {
      throw failure("info", timeout, e);
    }
  }

  /**
   * One page of a scan: up to {@code limit} keys after ({@code afterTenantId}, {@code afterKey})
   * in key order (an empty {@code afterTenantId} starts at the first key). Fewer than {@code
   * limit} means the scan is over. Blocking.
   *
   * @throws StorageNodeException if the node cannot be reached or the page takes longer than
   *     {@code timeout}
   */
  public List<KeyEntry> scan(String afterTenantId, String afterKey, int limit, Duration timeout) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 (was " + limit + ")");
    }
    ScanRequest request = ScanRequest.newBuilder().setAfterTenantId(afterTenantId)
        .setAfterKey(afterKey).setLimit(limit).build();
    List<KeyEntry> page = new ArrayList<>(Math.min(limit, 1024));
    // A scope to cancel the stream in, should reading it stop before its end.
    Context.CancellableContext scope = Context.current().withCancellation();
    Context previous = scope.attach();
    try {
      Iterator<KeyVersions> it = blocking(timeout)
          .scan(request);
      while (it.hasNext()) {
        KeyVersions k = it.next();
        page.add(new KeyEntry(k.getTenantId(), k.getKey(),
            converted("scan", k.getVersionsList(),
                versions -> VersionMapping.fromProto(versions, "versions"))));
      }
      return page;
    } catch (StatusRuntimeException e) {
      throw failure("scan", timeout, e);
    } finally {
      scope.detach(previous);
      scope.cancel(null);
    }
  }

  /**
   * Every key of the node, in key order, fetched {@code pageKeys} at a time (each page within
   * {@code pageTimeout}); keys written during the scan may or may not be seen. Blocking.
   *
   * @return how many keys {@code each} was given
   */
  public long scanAll(int pageKeys, Duration pageTimeout, Consumer<KeyEntry> each) {
    String afterTenantId = "";
    String afterKey = "";
    long seen = 0;
    List<KeyEntry> page;
    do {
      page = scan(afterTenantId, afterKey, pageKeys, pageTimeout);
      for (KeyEntry entry : page) {
        each.accept(entry);
        afterTenantId = entry.tenantId();
        afterKey = entry.key();
      }
      seen += page.size();
    } while (page.size() == pageKeys);
    return seen;
  }

  /**
   * Forgets the keys whose siblings on the node are still those given (a key written since
   * stays). At most {@link StorageNodeService#KEYS_PER_DROP_MAX} keys; a scan page is a good
   * batch. Blocking.
   *
   * @return how many keys the node dropped
   */
  public long drop(List<KeyEntry> keys, Duration timeout) {
    DropRequest.Builder request = DropRequest.newBuilder();
    for (KeyEntry k : keys) {
      request.addKeys(KeyVersions.newBuilder().setTenantId(k.tenantId()).setKey(k.key())
          .addAllVersions(VersionMapping.toProto(k.versions())));
    }
    try {
      return blocking(timeout)
          .drop(request.build()).getDropped();
    } catch (StatusRuntimeException e) {
      throw failure("drop", timeout, e);
    }
  }

  /** Closes the channel: calls in flight get a few seconds to finish, then are cancelled. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "node " + nodeId + " (" + address + ")";
  }

  private <R, T> CompletableFuture<T> unary(String op, Duration timeout,
      BiConsumer<StorageNodeGrpc.StorageNodeStub, StreamObserver<R>> invoke,
      Function<R, T> convert) {
    CompletableFuture<T> result = new CompletableFuture<>();
    StreamObserver<R> observer = new StreamObserver<>() {
      private R response;

      @Override
      public void onNext(R value) {
        response = value;
      }

      @Override
      public void onError(Throwable t) {
        result.completeExceptionally(new CompletionException(failure(op, timeout, t)));
      }

      @Override
      public void onCompleted() {
        try {
          result.complete(converted(op, response, convert));
        } catch (StorageNodeException e) {
          result.completeExceptionally(new CompletionException(e));
        }
      }
    };
    try {
      invoke.accept(async.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS), observer);
    } catch (RuntimeException e) {
      result.completeExceptionally(new CompletionException(failure(op, timeout, e)));
    }
    return result;
  }

  /** {@code convert(response)}; a response the Java types cannot hold is the node's fault. */
  private <R, T> T converted(String op, R response, Function<R, T> convert) {
    try {
      return convert.apply(response);
    } catch (StatusRuntimeException | IllegalArgumentException e) {
      throw new StorageNodeException(nodeId, address, Status.Code.INTERNAL, this
          + " answered " + op + " with a malformed version: " + e.getMessage(), e);
    }
  }

  private StorageNodeException failure(String op, Duration timeout, Throwable t) {
    Status status = Status.fromThrowable(t);
    if (status.getCode() == Status.Code.UNAVAILABLE) {
      reconnectSoon();
    }
    String what = switch (status.getCode()) {
      case UNAVAILABLE -> "unreachable";
      case DEADLINE_EXCEEDED -> "did not answer within " + timeout.toMillis() + " ms";
      case INVALID_ARGUMENT -> "rejected";
      case CANCELLED -> "call cancelled";
      default -> "failed";
    };
    String message = this + " " + what + " during " + op + ": " + status.getCode()
        + (status.getDescription() == null ? "" : ": " + status.getDescription());
    return new StorageNodeException(nodeId, address, status.getCode(), message, t);
  }

  /**
   * A channel that failed to connect waits out a growing backoff (up to minutes) and fails calls
   * at once meanwhile (gRPC keeps reporting the failure until a connection is up again), so a
   * node back from a restart would look down for that long. A call that finds the node
   * unreachable asks for a new dial now instead, at most once per {@link
   * #RECONNECT_INTERVAL_MIN}: a node that is back serves again within that interval, and a node
   * still down costs a refused connection per interval.
   */
  private void reconnectSoon() {
    long now = System.nanoTime();
    long last = lastReconnectNanos.get();
    if (now - last >= RECONNECT_INTERVAL_MIN.toNanos()
        && lastReconnectNanos.compareAndSet(last, now)) {
      channel.resetConnectBackoff();
    }
  }

  private StorageNodeGrpc.StorageNodeBlockingStub blocking(Duration timeout) {
    return blocking.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static String checkAddress(String nodeId, String address) {
    Objects.requireNonNull(address, "address");
    int colon = address.lastIndexOf(':');
    boolean ok = colon > 0 && colon < address.length() - 1;
    if (ok) {
      try {
        int port = Integer.parseInt(address.substring(colon + 1));
        ok = port > 0 && port <= 65_535;
      } catch (NumberFormatException e) {
        ok = false;
      }
    }
    if (!ok) {
      throw new IllegalArgumentException("address of node " + nodeId
          + " must be host:port with a port of 1 to 65535 (was '" + address + "')");
    }
    return address;
  }
}
