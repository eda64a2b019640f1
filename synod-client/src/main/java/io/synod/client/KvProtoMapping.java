package io.synod.client;

import com.google.protobuf.ByteString;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.Tenant;
import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import io.synod.proto.v1.DeleteKeyValueRequest;
import io.synod.proto.v1.MigrationReport;
import io.synod.proto.v1.ReadKeyValueRequest;
import io.synod.proto.v1.ReadKeyValueResponse;
import io.synod.proto.v1.Sibling;
import io.synod.proto.v1.StorageNode;
import io.synod.proto.v1.TenantSettings;
import io.synod.proto.v1.WriteKeyValueRequest;
import io.synod.proto.v1.WriteKeyValueResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts the key-value API's records ({@code io.synod.api.kv}) to the messages of {@code
 * synod/v1/kv.proto} and back, for the server and the client alike. Empty strings on the wire
 * mean "not given" (proto3 has no null): an empty consistency is the tenant's default, an empty
 * idempotency key none. Requests are not validated here beyond their shape: the coordinator
 * checks them and names the field.
 */
public final class KvProtoMapping {
  private KvProtoMapping() {}

  // ---- requests

  public static WriteKeyValueRequest toProto(KvWrite write) {
    return WriteKeyValueRequest.newBuilder()
        .setTenantId(nullToEmpty(write.tenantId()))
        .setKey(nullToEmpty(write.key()))
        .setValue(ByteString.copyFrom(write.value()))
        .setConsistency(wire(write.consistency()))
        .setIdempotencyKey(nullToEmpty(write.idempotencyKey()))
        .build();
  }

  /** The write a request asks for, with {@code idempotencyKey} chosen by the caller. */
  public static KvWrite fromProto(WriteKeyValueRequest proto, String idempotencyKey) {
    return new KvWrite(proto.getTenantId(), proto.getKey(), proto.getValue().toByteArray(),
        consistency(proto.getConsistency()), idempotencyKey);
  }

  public static ReadKeyValueRequest toProto(KvRead read) {
    return ReadKeyValueRequest.newBuilder()
        .setTenantId(nullToEmpty(read.tenantId()))
        .setKey(nullToEmpty(read.key()))
        .setConsistency(wire(read.consistency()))
        .setSiblings(read.siblings())
        .build();
  }

  public static KvRead fromProto(ReadKeyValueRequest proto) {
    return new KvRead(proto.getTenantId(), proto.getKey(), consistency(proto.getConsistency()),
        proto.getSiblings());
  }

  public static DeleteKeyValueRequest toProto(KvDelete delete) {
    return DeleteKeyValueRequest.newBuilder()
        .setTenantId(nullToEmpty(delete.tenantId()))
        .setKey(nullToEmpty(delete.key()))
        .setConsistency(wire(delete.consistency()))
        .setIdempotencyKey(nullToEmpty(delete.idempotencyKey()))
        .build();
  }

  /** The delete a request asks for, with {@code idempotencyKey} chosen by the caller. */
  public static KvDelete fromProto(DeleteKeyValueRequest proto, String idempotencyKey) {
    return new KvDelete(proto.getTenantId(), proto.getKey(), consistency(proto.getConsistency()),
        idempotencyKey);
  }

  /** {@code one}, {@code quorum} or {@code all}; empty is "not given" (null). */
  public static Consistency consistency(String wire) {
    return Consistency.fromWire("consistency", wire);
  }

  // ---- results

  public static WriteKeyValueResponse toProto(KvWriteResult result) {
    return WriteKeyValueResponse.newBuilder()
        .setSuccess(result.success())
        .setKey(nullToEmpty(result.key()))
        .setIdempotencyKey(nullToEmpty(result.idempotencyKey()))
        .setVectorClock(toProto(result.clock()))
        .setReplicaCount(result.replicaCount())
        .setConsistency(wire(result.consistency()))
        .setIsDuplicate(result.duplicate())
        .setErrorMessage(nullToEmpty(result.errorMessage()))
        .build();
  }

  public static KvWriteResult fromProto(WriteKeyValueResponse proto) {
    return new KvWriteResult(proto.getSuccess(), proto.getKey(),
        emptyToNull(proto.getIdempotencyKey()), fromProto(proto.getVectorClock()),
        proto.getReplicaCount(), answered(proto.getConsistency()), proto.getIsDuplicate(),
        proto.getErrorMessage());
  }

  public static ReadKeyValueResponse toProto(KvReadResult result) {
    ReadKeyValueResponse.Builder proto = ReadKeyValueResponse.newBuilder()
        .setSuccess(result.success())
        .setKey(nullToEmpty(result.key()))
        .setFound(result.found())
        .setValue(ByteString.copyFrom(result.value() == null ? new byte[0] : result.value()))
        .setVectorClock(toProto(result.clock()))
        .setConsistency(wire(result.consistency()))
        .setErrorMessage(nullToEmpty(result.errorMessage()));
    for (Versioned sibling : result.siblings()) {
      proto.addSiblings(Sibling.newBuilder()
          .setValue(ByteString.copyFrom(sibling.value()))
          .setVectorClock(toProto(sibling.clock()))
          .setTimestampMillis(sibling.timestampMillis())
          .setWriter(sibling.writer())
          .setTombstone(sibling.tombstone()));
    }
    return proto.build();
  }

  public static KvReadResult fromProto(ReadKeyValueResponse proto) {
    List<Versioned> siblings = new ArrayList<>(proto.getSiblingsCount());
    for (Sibling s : proto.getSiblingsList()) {
      siblings.add(new Versioned(s.getValue().toByteArray(), fromProto(s.getVectorClock()),
          s.getTimestampMillis(), s.getWriter(), s.getTombstone()));
    }
    return new KvReadResult(proto.getSuccess(), proto.getKey(), proto.getFound(),
        proto.getValue().toByteArray(), fromProto(proto.getVectorClock()), siblings,
        answered(proto.getConsistency()), proto.getErrorMessage());
  }

  public static io.synod.proto.v1.VectorClock toProto(VectorClock clock) {
    return io.synod.proto.v1.VectorClock.newBuilder()
        .putAllEntries(clock == null ? java.util.Map.of() : clock.entries())
        .build();
  }

  public static VectorClock fromProto(io.synod.proto.v1.VectorClock proto) {
    try {
      return VectorClock.of(proto.getEntriesMap());
    } catch (IllegalArgumentException e) {
      throw new SynodException(ErrorCode.INTERNAL, null, "the server sent a malformed vector"
          + " clock " + proto.getEntriesMap() + ": " + e.getMessage());
    }
  }

  // ---- tenants and storage nodes

  public static io.synod.proto.v1.Tenant toProto(Tenant tenant) {
    return io.synod.proto.v1.Tenant.newBuilder()
        .setTenantId(tenant.id())
        .setReplicationFactor(tenant.replicationFactor())
        .setDefaultConsistency(tenant.defaultConsistency().wireName())
        .setMaxValueBytes(tenant.maxValueBytes())
        .setMaxRequestsPerSecond(tenant.maxRequestsPerSecond())
        .build();
  }

  public static Tenant fromProto(io.synod.proto.v1.Tenant proto) {
    return new Tenant(proto.getTenantId(), proto.getReplicationFactor(),
        Consistency.fromWire("default_consistency", proto.getDefaultConsistency()),
        proto.getMaxValueBytes(), proto.getMaxRequestsPerSecond());
  }

  /** Every setting of {@code tenant}, as a create or a full update sends it. */
  public static TenantSettings settings(Tenant tenant) {
    return TenantSettings.newBuilder()
        .setTenantId(tenant.id())
        .setReplicationFactor(tenant.replicationFactor())
        .setDefaultConsistency(tenant.defaultConsistency().wireName())
        .setMaxValueBytes(tenant.maxValueBytes())
        .setMaxRequestsPerSecond(tenant.maxRequestsPerSecond())
        .build();
  }

  /**
   * The tenant {@code settings} describe: each field given, else {@code base}'s (the defaults for
   * a create, the current settings for an update). An empty default_consistency counts as not
   * given. The {@link Tenant} record checks the result and names the offending field.
   */
  public static Tenant tenant(TenantSettings settings, Tenant base) {
    Consistency consistency = settings.hasDefaultConsistency()
        ? Consistency.fromWire("default_consistency", settings.getDefaultConsistency()) : null;
    return new Tenant(settings.getTenantId(),
        settings.hasReplicationFactor() ? settings.getReplicationFactor()
            : base.replicationFactor(),
        consistency != null ? consistency : base.defaultConsistency(),
        settings.hasMaxValueBytes() ? settings.getMaxValueBytes() : base.maxValueBytes(),
        settings.hasMaxRequestsPerSecond() ? settings.getMaxRequestsPerSecond()
            : base.maxRequestsPerSecond());
  }

  public static StorageNode toProto(KvService.StorageNodeInfo node) {
    return StorageNode.newBuilder().setNodeId(node.id()).setAddress(node.address()).build();
  }

  public static KvService.StorageNodeInfo fromProto(StorageNode proto) {
    return new KvService.StorageNodeInfo(proto.getNodeId(), proto.getAddress());
  }

  public static MigrationReport toProto(KvService.MigrationReport report) {
    return MigrationReport.newBuilder()
        .setNodeId(report.nodeId())
        .setKeysScanned(report.keysScanned())
        .setVersionsCopied(report.versionsCopied())
        .setKeysDropped(report.keysDropped())
        .setDurationMillis(report.durationMillis())
        .build();
  }

  public static KvService.MigrationReport fromProto(MigrationReport proto) {
    return new KvService.MigrationReport(proto.getNodeId(), proto.getKeysScanned(),
        proto.getVersionsCopied(), proto.getKeysDropped(), proto.getDurationMillis());
  }

  // ---- helpers

  private static String wire(Consistency consistency) {
    return consistency == null ? "" : consistency.wireName();
  }

  /** A consistency in an answer: the server only sends known names. */
  private static Consistency answered(String wire) {
    try {
      return Consistency.fromWire("consistency", wire);
    } catch (SynodException e) {
      throw new SynodException(ErrorCode.INTERNAL, null, "the server answered an unknown"
          + " consistency '" + wire + "'");
    }
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
