package io.synod.server.grpc;

import io.grpc.stub.StreamObserver;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvService;
import io.synod.api.kv.Tenant;
import io.synod.client.KvProtoMapping;
import io.synod.proto.v1.AddStorageNodeRequest;
import io.synod.proto.v1.DeleteKeyValueRequest;
import io.synod.proto.v1.DeleteTenantRequest;
import io.synod.proto.v1.DeleteTenantResponse;
import io.synod.proto.v1.GetTenantRequest;
import io.synod.proto.v1.KeyValueGrpc;
import io.synod.proto.v1.ListStorageNodesRequest;
import io.synod.proto.v1.ListStorageNodesResponse;
import io.synod.proto.v1.ListTenantsRequest;
import io.synod.proto.v1.ListTenantsResponse;
import io.synod.proto.v1.MigrationReport;
import io.synod.proto.v1.ReadKeyValueRequest;
import io.synod.proto.v1.ReadKeyValueResponse;
import io.synod.proto.v1.RemoveStorageNodeRequest;
import io.synod.proto.v1.TenantSettings;
import io.synod.proto.v1.WriteKeyValueRequest;
import io.synod.proto.v1.WriteKeyValueResponse;

/**
 * The KeyValue gRPC service: each call goes to this node's KV coordinator, which is stateless,
 * so nothing is forwarded to the leader. The {@code idempotency-key} header stands in for a
 * missing idempotency_key; if both are sent they must agree.
 */
public final class KvGrpcService extends KeyValueGrpc.KeyValueImplBase {
  private final KvService kv;

  public KvGrpcService(KvService kv) {
    this.kv = kv;
  }

  @Override
  public void writeKeyValue(WriteKeyValueRequest request,
      StreamObserver<WriteKeyValueResponse> response) {
    Calls.unary(response, () -> KvProtoMapping.toProto(kv.write(KvProtoMapping.fromProto(request,
        idempotencyKey(request.getIdempotencyKey(), CallContext.idempotencyKey())))));
  }

  @Override
  public void readKeyValue(ReadKeyValueRequest request,
      StreamObserver<ReadKeyValueResponse> response) {
    Calls.unary(response, () -> KvProtoMapping.toProto(kv.read(KvProtoMapping.fromProto(
        request))));
  }

  @Override
  public void deleteKeyValue(DeleteKeyValueRequest request,
      StreamObserver<WriteKeyValueResponse> response) {
    Calls.unary(response, () -> KvProtoMapping.toProto(kv.delete(KvProtoMapping.fromProto(
        request, idempotencyKey(request.getIdempotencyKey(), CallContext.idempotencyKey())))));
  }

  @Override
  public void createTenant(TenantSettings request, StreamObserver<io.synod.proto.v1.Tenant>
      response) {
    Calls.unary(response, () -> {
      Tenant.checkId("tenant_id", request.getTenantId());
      Tenant tenant = KvProtoMapping.tenant(request, Tenant.withDefaults(request.getTenantId()));
      return KvProtoMapping.toProto(kv.tenants().create(tenant));
    });
  }

  /** Fields left out keep their value: the current settings are read first. */
  @Override
  public void updateTenant(TenantSettings request, StreamObserver<io.synod.proto.v1.Tenant>
      response) {
    Calls.unary(response, () -> {
      Tenant current = existing(request.getTenantId());
      return KvProtoMapping.toProto(kv.tenants().update(KvProtoMapping.tenant(request,
          current)));
    });
  }

  @Override
  public void getTenant(GetTenantRequest request,
      StreamObserver<io.synod.proto.v1.Tenant> response) {
    Calls.unary(response, () -> KvProtoMapping.toProto(existing(request.getTenantId())));
  }

  @Override
  public void listTenants(ListTenantsRequest request,
      StreamObserver<ListTenantsResponse> response) {
    Calls.unary(response, () -> ListTenantsResponse.newBuilder()
        .addAllTenants(kv.tenants().list().stream().map(KvProtoMapping::toProto).toList())
        .build());
  }

  @Override
  public void deleteTenant(DeleteTenantRequest request,
      StreamObserver<DeleteTenantResponse> response) {
    Calls.unary(response, () -> DeleteTenantResponse.newBuilder()
        .setDeleted(kv.tenants().delete(request.getTenantId()))
        .build());
  }

  @Override
  public void listStorageNodes(ListStorageNodesRequest request,
      StreamObserver<ListStorageNodesResponse> response) {
    Calls.unary(response, () -> ListStorageNodesResponse.newBuilder()
        .addAllNodes(kv.membership().nodes().stream().map(KvProtoMapping::toProto).toList())
        .build());
  }

  @Override
  public void addStorageNode(AddStorageNodeRequest request,
      StreamObserver<MigrationReport> response) {
    Calls.unary(response, () -> KvProtoMapping.toProto(kv.membership().add(
        new KvService.StorageNodeInfo(request.getNodeId(), request.getAddress()))));
  }

  @Override
  public void removeStorageNode(RemoveStorageNodeRequest request,
      StreamObserver<MigrationReport> response) {
    Calls.unary(response, () -> KvProtoMapping.toProto(kv.membership().remove(
        request.getNodeId())));
  }

  private Tenant existing(String tenantId) {
    return kv.tenants().get(tenantId).orElseThrow(() -> new SynodException(ErrorCode.NOT_FOUND,
        "tenant_id", "no tenant '" + tenantId + "'; create it first"));
  }

  /** The write's idempotency key: the field, or the header standing in for it; equal if both. */
  static String idempotencyKey(String field, String header) {
    String given = field == null || field.isEmpty() ? null : field;
    if (given != null && header != null && !given.equals(header)) {
      throw SynodException.invalid("idempotency_key", "differs from the idempotency-key header ('"
          + header + "'); send one of them, or the same value in both");
    }
    return given != null ? given : header;
  }
}
