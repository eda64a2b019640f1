package io.synod.server.grpc;

import io.grpc.stub.StreamObserver;
import io.synod.engine.SynodNode;
import io.synod.engine.log.RatisLog;
import io.synod.proto.v1.ClusterGrpc;
import io.synod.proto.v1.ClusterStatus;
import io.synod.proto.v1.ClusterStatusRequest;
import io.synod.proto.v1.Member;
import java.util.Map;
import java.util.function.Supplier;

/** The Cluster gRPC service: the group as the serving node sees it. */
public final class ClusterGrpcService extends ClusterGrpc.ClusterImplBase {
  private final Supplier<ClusterStatus> status;

  /** @param status the group as this node sees it now; the HTTP API serves the same */
  public ClusterGrpcService(Supplier<ClusterStatus> status) {
    this.status = status;
  }

  @Override
  public void getStatus(ClusterStatusRequest request, StreamObserver<ClusterStatus> response) {
    Calls.unary(response, status);
  }

  /** The group's status as a message. */
  public static ClusterStatus status(SynodNode node, String clusterId,
      Map<String, String> apiAddressById) {
    RatisLog.GroupInfo info = node.groupInfo();
    String leader = info.leaderId().orElse("");
    ClusterStatus.Builder status = ClusterStatus.newBuilder()
        .setClusterId(clusterId)
        .setNodeId(info.selfId())
        .setLeaderId(leader)
        .setTerm(info.term())
        .setCommitIndex(info.commitIndex())
        .setAppliedIndex(info.appliedIndex());
    info.peers().forEach((id, raft) -> status.addMembers(Member.newBuilder()
        .setId(id)
        .setRaftAddress(raft)
        .setApiAddress(apiAddressById.getOrDefault(id, ""))
        .setLeader(id.equals(leader))));
    return status.build();
  }
}
