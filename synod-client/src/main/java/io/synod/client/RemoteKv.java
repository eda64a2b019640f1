package io.synod.client;

import io.grpc.Channel;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.Tenant;
import io.synod.proto.v1.AddStorageNodeRequest;
import io.synod.proto.v1.DeleteTenantRequest;
import io.synod.proto.v1.GetTenantRequest;
import io.synod.proto.v1.KeyValueGrpc;
import io.synod.proto.v1.ListStorageNodesRequest;
import io.synod.proto.v1.ListTenantsRequest;
import io.synod.proto.v1.RemoveStorageNodeRequest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The KeyValue calls of one synod server over one gRPC channel, each made once: no retries, no
 * failover ({@link RemoteKvService} adds those). Failures arrive as the {@link
 * io.synod.api.SynodException} the server raised.
 */
final class RemoteKv {
  /**
   * Room beyond the call timeout for a write or delete: the coordinator reads the key's versions
   * and then writes, each for up to its write_timeout (5 s by default), and may first wait as long
   * for an earlier try with the same idempotency key.
   */
  static final Duration WRITE_MARGIN = Duration.ofSeconds(30);
  /**
   * The deadline of a membership change: it waits two ring_refresh periods (30 s each by default)
   * and streams every key of the ranges that move.
   */
  static final Duration MEMBERSHIP_DEADLINE = Duration.ofHours(1);

  private final KeyValueGrpc.KeyValueBlockingStub stub;
  private final Duration callTimeout;

  /**
   * @param channel the server's channel; the caller owns it
   * @param callTimeout the deadline of reads and administration calls
   */
  RemoteKv(Channel channel, Duration callTimeout) {
    this.stub = KeyValueGrpc.newBlockingStub(channel);
    this.callTimeout = callTimeout;
  }

  KvWriteResult write(KvWrite write) {
    return ProtoMapping.call(() -> KvProtoMapping.fromProto(
        within(callTimeout.plus(WRITE_MARGIN)).writeKeyValue(KvProtoMapping.toProto(write))));
  }

  KvWriteResult delete(KvDelete delete) {
    return ProtoMapping.call(() -> KvProtoMapping.fromProto(
        within(callTimeout.plus(WRITE_MARGIN)).deleteKeyValue(KvProtoMapping.toProto(delete))));
  }

  KvReadResult read(KvRead read) {
    return ProtoMapping.call(() -> KvProtoMapping.fromProto(
        within(callTimeout).readKeyValue(KvProtoMapping.toProto(read))));
  }

  Tenant createTenant(Tenant tenant) {
    return ProtoMapping.call(() -> KvProtoMapping.fromProto(
        within(callTimeout).createTenant(KvProtoMapping.settings(tenant))));
  }

  Tenant updateTenant(Tenant tenant) {
    return ProtoMapping.call(() -> KvProtoMapping.fromProto(
        within(callTimeout).updateTenant(KvProtoMapping.settings(tenant))));
  }

  Optional<Tenant> tenant(String tenantId) {
    return ProtoMapping.find(() -> KvProtoMapping.fromProto(within(callTimeout)
        .getTenant(GetTenantRequest.newBuilder().setTenantId(nullToEmpty(tenantId)).build())));
  }

  List<Tenant> tenants() {
    return ProtoMapping.call(() -> within(callTimeout)
        .listTenants(ListTenantsRequest.getDefaultInstance()).getTenantsList().stream()
        .map(KvProtoMapping::fromProto).toList());
  }

  boolean deleteTenant(String tenantId) {
    return ProtoMapping.call(() -> within(callTimeout).deleteTenant(DeleteTenantRequest
        .newBuilder().setTenantId(nullToEmpty(tenantId)).build()).getDeleted());
  }

  List<KvService.StorageNodeInfo> nodes() {
    return ProtoMapping.call(() -> within(callTimeout)
        .listStorageNodes(ListStorageNodesRequest.getDefaultInstance()).getNodesList().stream()
        .map(KvProtoMapping::fromProto).toList());
  }

  KvService.MigrationReport addNode(KvService.StorageNodeInfo node) {
    return ProtoMapping.call(() -> KvProtoMapping.fromProto(within(MEMBERSHIP_DEADLINE)
        .addStorageNode(AddStorageNodeRequest.newBuilder().setNodeId(nullToEmpty(node.id()))
            .setAddress(nullToEmpty(node.address())).build())));
  }

  KvService.MigrationReport removeNode(String nodeId) {
    return ProtoMapping.call(() -> KvProtoMapping.fromProto(within(MEMBERSHIP_DEADLINE)
        .removeStorageNode(RemoveStorageNodeRequest.newBuilder()
            .setNodeId(nullToEmpty(nodeId)).build())));
  }

  private KeyValueGrpc.KeyValueBlockingStub within(Duration deadline) {
    return stub.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
