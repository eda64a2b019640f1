package io.synod.kv.node;

import io.grpc.Status;
import io.synod.api.kv.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The storage nodes running in this process, by address. A coordinator in the same process calls
 * them directly instead of through gRPC and the loopback network: the embedded default (a server
 * with its own nodes) then costs a RocksDB call per replica, not an RPC. A node that is closed, or
 * replaced by a restart on the same address, is looked up again on every call.
 */
public final class LocalNodes {
  private static final LocalNodes NONE = new LocalNodes(false);

  private final Map<String, StorageNode> byAddress = new ConcurrentHashMap<>();
  private final boolean accepting;

  private LocalNodes(boolean accepting) {
    this.accepting = accepting;
  }

  /** An empty registry, for the nodes this process will start. */
  public static LocalNodes create() {
    return new LocalNodes(true);
  }

  /** No node is local: every node is called through gRPC. */
  public static LocalNodes none() {
    return NONE;
  }

  /** Makes {@code node} callable directly at its address (replacing one closed before). */
  public void register(StorageNode node) {
    if (!accepting) {
      throw new IllegalStateException("LocalNodes.none() calls every node through gRPC; use"
          + " LocalNodes.create() to register " + node.id());
    }
    byAddress.put(node.address(), node);
  }

  /** A direct client of the node at {@code address}, if it runs in this process. */
  public Optional<StorageNodeApi> client(String nodeId, String address) {
    StorageNode node = byAddress.get(address);
    return node == null || !node.id().equals(nodeId) ? Optional.empty()
        : Optional.of(new Direct(nodeId, address));
  }

  /** Calls the node's store on the caller's thread. */
  private final class Direct implements StorageNodeApi {
    private final String nodeId;
    private final String address;

    Direct(String nodeId, String address) {
      this.nodeId = nodeId;
      this.address = address;
    }

    @Override
    public String nodeId() {
      return nodeId;
    }

    @Override
    public String address() {
      return address;
    }

    @Override
    public CompletableFuture<List<Versioned>> get(String tenantId, String key,
        Duration timeout) {
      return async("get", () -> store("get").get(tenantId, key));
    }

    @Override
    public CompletableFuture<List<Versioned>> put(String tenantId, String key,
        List<Versioned> versions, Duration timeout) {
      return async("put", () -> store("put").put(tenantId, key, versions).siblings());
    }

    @Override
    public StorageNodeClient.NodeInfo info() {
      return call("info", () -> new StorageNodeClient.NodeInfo(nodeId,
          store("info").estimatedKeys()));
    }

    @Override
    public List<KeyEntry> scan(String afterTenantId, String afterKey, int limit,
        Duration timeout) {
      return call("scan", () -> {
        List<KeyEntry> page = new ArrayList<>();
        store("scan").scan(afterTenantId, afterKey, limit, page::add);
        return page;
      });
    }

    @Override
    public long drop(List<KeyEntry> keys, Duration timeout) {
      return call("drop", () -> store("drop").drop(keys));
    }

    @Override
    public void close() {
      // Nothing held: the node belongs to whoever started it.
    }

    private VersionStore store(String op) {
      StorageNode node = byAddress.get(address);
      if (node == null || !node.isOpen()) {
        throw new StorageNodeException(nodeId, address, Status.Code.UNAVAILABLE, "node " + nodeId
            + " (" + address + ") unreachable during " + op + ": not running", null);
      }
      return node.store();
    }

    private <T> CompletableFuture<T> async(String op, Supplier<T> call) {
      try {
        return CompletableFuture.completedFuture(call(op, call));
      } catch (StorageNodeException e) {
        return CompletableFuture.failedFuture(new CompletionException(e));
      }
    }

    private <T> T call(String op, Supplier<T> call) {
      try {
        return call.get();
      } catch (StorageNodeException e) {
        throw e;
      } catch (IllegalStateException e) { // the store closed under the call
        throw new StorageNodeException(nodeId, address, Status.Code.UNAVAILABLE, "node " + nodeId
            + " (" + address + ") unreachable during " + op + ": " + e.getMessage(), e);
      } catch (RuntimeException e) {
        throw new StorageNodeException(nodeId, address, Status.Code.INTERNAL, "node " + nodeId
            + " (" + address + ") failed during " + op + ": " + e.getMessage(), e);
      }
    }

    @Override
    public String toString() {
      return "node " + nodeId + " (" + address + ", in this process)";
    }
  }
}
