package io.synod.kv.node;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.synod.api.kv.Versioned;
import io.synod.kv.proto.DropRequest;
import io.synod.kv.proto.DropResponse;
import io.synod.kv.proto.GetRequest;
import io.synod.kv.proto.GetResponse;
import io.synod.kv.proto.InfoRequest;
import io.synod.kv.proto.InfoResponse;
import io.synod.kv.proto.KeyVersions;
import io.synod.kv.proto.PutRequest;
import io.synod.kv.proto.PutResponse;
import io.synod.kv.proto.ScanRequest;
import io.synod.kv.proto.StorageNodeGrpc;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage protocol ({@code synod.kv.v1.StorageNode}) over one {@link VersionStore}: checks
 * each request, runs it on the store and answers.
 *
 * <p>Failures: bad input is INVALID_ARGUMENT naming the field ({@code versions[1].clock}); a store
 * that is closing is UNAVAILABLE (try another replica); a RocksDB failure is INTERNAL with its
 * message. Every request size is bounded by the limits below.
 *
 * <p>Scan streams with flow control: it reads the store a page at a time and only while the
 * caller keeps up, so scanning a large node (a migration) holds one page in memory, not the node.
 */
public final class StorageNodeService extends StorageNodeGrpc.StorageNodeImplBase {
  /** Longest tenant id, in UTF-8 bytes (tenant ids are at most 64 characters; this is slack). */
  public static final int TENANT_ID_BYTES_MAX = 256;
  /** Longest key, in UTF-8 bytes. */
  public static final int KEY_BYTES_MAX = 64 * 1024;
  /** Versions one put may carry (a write carries one; a read repair the siblings). */
  public static final int VERSIONS_PER_PUT_MAX = 64;
  /** Keys one drop may name. */
  public static final int KEYS_PER_DROP_MAX = 10_000;
  /** Keys a scan reads from the store at once. */
  static final int SCAN_PAGE_KEYS = 256;

  private static final Logger LOG = LoggerFactory.getLogger(StorageNodeService.class);

  private final String nodeId;
  private final VersionStore store;

  public StorageNodeService(String nodeId, VersionStore store) {
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
    this.store = Objects.requireNonNull(store, "store");
  }

  @Override
  public void put(PutRequest request, StreamObserver<PutResponse> response) {
    unary(response, () -> {
      checkTenantAndKey("tenant_id", request.getTenantId(), "key", request.getKey());
      if (request.getVersionsCount() == 0) {
        throw VersionMapping.invalid("versions", "must hold at least one version");
      }
      if (request.getVersionsCount() > VERSIONS_PER_PUT_MAX) {
        throw VersionMapping.invalid("versions", "must hold at most " + VERSIONS_PER_PUT_MAX
            + " versions (has " + request.getVersionsCount() + ")");
      }
      List<Versioned> versions = VersionMapping.fromProto(request.getVersionsList(), "versions");
      VersionStore.PutOutcome outcome =
          store.put(request.getTenantId(), request.getKey(), versions);
      return PutResponse.newBuilder()
          .addAllVersions(VersionMapping.toProto(outcome.siblings()))
          .setChanged(outcome.changed())
          .build();
    });
  }

  @Override
  public void get(GetRequest request, StreamObserver<GetResponse> response) {
    unary(response, () -> {
      checkTenantAndKey("tenant_id", request.getTenantId(), "key", request.getKey());
      List<Versioned> siblings = store.get(request.getTenantId(), request.getKey());
      return GetResponse.newBuilder().addAllVersions(VersionMapping.toProto(siblings)).build();
    });
  }

  @Override
  public void drop(DropRequest request, StreamObserver<DropResponse> response) {
    unary(response, () -> {
      if (request.getKeysCount() > KEYS_PER_DROP_MAX) {
        throw VersionMapping.invalid("keys", "must name at most " + KEYS_PER_DROP_MAX
            + " keys (has " + request.getKeysCount() + ")");
      }
      List<KeyEntry> keys = new ArrayList<>(request.getKeysCount());
      for (int i = 0; i < request.getKeysCount(); i++) {
        KeyVersions k = request.getKeys(i);
        String field = "keys[" + i + "]";
        checkTenantAndKey(field + ".tenant_id", k.getTenantId(), field + ".key", k.getKey());
        if (k.getVersionsCount() == 0) {
          throw VersionMapping.invalid(field + ".versions",
              "must hold the siblings the key is dropped with");
        }
        keys.add(new KeyEntry(k.getTenantId(), k.getKey(),
            VersionMapping.fromProto(k.getVersionsList(), field + ".versions")));
      }
      return DropResponse.newBuilder().setDropped(store.drop(keys)).build();
    });
  }

  @Override
  public void info(InfoRequest request, StreamObserver<InfoResponse> response) {
    unary(response, () -> InfoResponse.newBuilder()
        .setNodeId(nodeId)
        .setEstimatedKeys(store.estimatedKeys())
        .build());
  }

  @Override
  public void scan(ScanRequest request, StreamObserver<KeyVersions> response) {
    try {
      checkScan(request);
    } catch (RuntimeException e) {
      response.onError(toStatus(e));
      return;
    }
    ServerCallStreamObserver<KeyVersions> call = (ServerCallStreamObserver<KeyVersions>) response;
    ScanCursor cursor = new ScanCursor(call, request);
    call.setOnCancelHandler(cursor::cancel);
    call.setOnReadyHandler(cursor::drain);
    cursor.drain();
  }

  private static void checkScan(ScanRequest request) {
    if (request.getAfterTenantId().isEmpty() && !request.getAfterKey().isEmpty()) {
      throw VersionMapping.invalid("after_key", "needs after_tenant_id (an empty after_tenant_id"
          + " scans from the first key)");
    }
    if (!request.getAfterTenantId().isEmpty()) {
      checkTenant("after_tenant_id", request.getAfterTenantId());
    }
    if (request.getLimit() < 0) {
      throw VersionMapping.invalid("limit", "must be 0 (no limit) or more (was "
          + request.getLimit() + ")");
    }
  }

  /**
   * Sends a scan's keys while the caller can take them, reading the store a page at a time. Runs
   * on the call's serialized executor (the handler, then onReady); synchronized all the same.
   */
  private final class ScanCursor {
    private final ServerCallStreamObserver<KeyVersions> call;
    private final ArrayDeque<KeyEntry> page = new ArrayDeque<>();
    private String afterTenantId;
    private String afterKey;
    private long remaining;
    private boolean storeExhausted;
    private boolean done;

    ScanCursor(ServerCallStreamObserver<KeyVersions> call, ScanRequest request) {
      this.call = call;
      this.afterTenantId = request.getAfterTenantId();
      this.afterKey = request.getAfterKey();
      this.remaining = request.getLimit() == 0 ? Long.MAX_VALUE : request.getLimit();
    }

    synchronized void cancel() {
      done = true;
    }

    synchronized void drain() {
      try {
        while (!done && call.isReady()) {
          if (page.isEmpty() && (remaining == 0 || storeExhausted || !readPage())) {
            done = true;
            call.onCompleted();
            return;
          }
          KeyEntry next = page.poll();
          afterTenantId = next.tenantId();
          afterKey = next.key();
          remaining--;
          call.onNext(toProto(next));
        }
      } catch (RuntimeException e) {
        done = true;
        call.onError(toStatus(e));
      }
    }

    /** Reads the next page; false when there is none. */
    private boolean readPage() {
      int wanted = (int) Math.min(remaining, SCAN_PAGE_KEYS);
      int read = store.scan(afterTenantId, afterKey, wanted, page::add);
      storeExhausted = read < wanted;
      return read > 0;
    }
  }

  private static KeyVersions toProto(KeyEntry entry) {
    return KeyVersions.newBuilder()
        .setTenantId(entry.tenantId())
        .setKey(entry.key())
        .addAllVersions(VersionMapping.toProto(entry.versions()))
        .build();
  }

  private static void checkTenantAndKey(String tenantField, String tenantId, String keyField,
      String key) {
    checkTenant(tenantField, tenantId);
    if (key.isEmpty()) {
      throw VersionMapping.invalid(keyField, "is required");
    }
    int keyBytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (keyBytes > KEY_BYTES_MAX) {
      throw VersionMapping.invalid(keyField, "must be at most " + KEY_BYTES_MAX
          + " bytes (UTF-8) long (is " + keyBytes + ")");
    }
  }

  private static void checkTenant(String field, String tenantId) {
    if (tenantId.isEmpty()) {
      throw VersionMapping.invalid(field, "is required");
    }
    if (tenantId.indexOf('\0') >= 0) {
      throw VersionMapping.invalid(field, "must not contain NUL characters");
    }
    int bytes = tenantId.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > TENANT_ID_BYTES_MAX) {
      throw VersionMapping.invalid(field, "must be at most " + TENANT_ID_BYTES_MAX
          + " bytes (UTF-8) long (is " + bytes + ")");
    }
  }

  private <T> void unary(StreamObserver<T> response, Supplier<T> body) {
    T value;
    try {
      value = body.get();
    } catch (RuntimeException e) {
      response.onError(toStatus(e));
      return;
    }
    response.onNext(value);
    response.onCompleted();
  }

  private StatusRuntimeException toStatus(RuntimeException e) {
    if (e instanceof StatusRuntimeException s) {
      return s;
    }
    if (e instanceof IllegalArgumentException) {
      return Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
    }
    if (e instanceof IllegalStateException) { // the store is closed: the node is going down
      return Status.UNAVAILABLE.withDescription("storage node " + nodeId + " is shutting down: "
          + e.getMessage()).asRuntimeException();
    }
    if (e instanceof VersionStoreException) {
      LOG.warn("storage node {}: {}", nodeId, e.getMessage(), e);
      return Status.INTERNAL.withDescription(e.getMessage()).withCause(e).asRuntimeException();
    }
    LOG.error("storage node {}: a call failed unexpectedly", nodeId, e);
    return Status.INTERNAL.withDescription("storage node " + nodeId + ": unexpected failure: " + e)
        .withCause(e).asRuntimeException();
  }
}
