package io.synod.kv.node;

import io.grpc.Status;
import java.util.Objects;

/**
 * A call to a storage node failed. The message says which node (id and address), what happened
 * and what the node said, e.g. {@code node n3 (127.0.0.1:5555) unreachable during put:
 * UNAVAILABLE: io exception}; {@link #code()} lets a coordinator tell a node that is down or slow
 * (UNAVAILABLE, DEADLINE_EXCEEDED: try another replica) from a request it rejected.
 */
public final class StorageNodeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String nodeId;
  private final String address;
  private final Status.Code code;

  public StorageNodeException(String nodeId, String address, Status.Code code, String message,
      Throwable cause) {
    super(message, cause);
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
    this.address = Objects.requireNonNull(address, "address");
    this.code = Objects.requireNonNull(code, "code");
  }

  public String nodeId() {
    return nodeId;
  }

  public String address() {
    return address;
  }

  /** The gRPC status of the failed call (INTERNAL when the node answered something malformed). */
  public Status.Code code() {
    return code;
  }
}
