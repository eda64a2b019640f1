package io.synod.client;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.Tenant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The key-value store of a synod server or cluster over gRPC ({@link SynodClient#kv()}): the
 * same {@link KvService} as a coordinator in the same JVM.
 *
 * <p><b>Retries.</b> Every server runs its own KV coordinator in front of the same storage nodes,
 * so a call that fails with UNAVAILABLE (the server is down or unreachable) is made again on the
 * next server, as {@link SynodClient} does, except when the server answered that too few
 * replicas answered for the consistency asked (field {@code consistency}): every server would
 * find the same replicas, so that failure is thrown at once. A write retried after its answer
 * was lost writes again (the same value, under a newer clock) unless it carries an idempotency
 * key, with which the retry returns the first write's response. Membership changes are made
 * once: they run for minutes, and a second try would find the first one in progress.
 */
final class RemoteKvService implements KvService {
  private final SynodClient client;
  private final Tenants tenants = new RemoteTenants();
  private final Membership membership = new RemoteMembership();

  RemoteKvService(SynodClient client) {
    this.client = client;
  }

  @Override
  public KvWriteResult write(KvWrite write) {
    Objects.requireNonNull(write, "write");
    return client.call("write key '" + write.key() + "' of tenant '" + write.tenantId() + "'",
        RemoteKvService::retryable, endpoint -> endpoint.kv().write(write));
  }

  @Override
  public KvReadResult read(KvRead read) {
    Objects.requireNonNull(read, "read");
    return client.call("read key '" + read.key() + "' of tenant '" + read.tenantId() + "'",
        RemoteKvService::retryable, endpoint -> endpoint.kv().read(read));
  }

  @Override
  public KvWriteResult delete(KvDelete delete) {
    Objects.requireNonNull(delete, "delete");
    return client.call("delete key '" + delete.key() + "' of tenant '" + delete.tenantId() + "'",
        RemoteKvService::retryable, endpoint -> endpoint.kv().delete(delete));
  }

  @Override
  public Tenants tenants() {
    return tenants;
  }

  @Override
  public Membership membership() {
    return membership;
  }

  /** UNAVAILABLE, unless it is the coordinator's verdict on the replicas (see the class). */
  static boolean retryable(SynodException e) {
    return e.code() == ErrorCode.UNAVAILABLE && !e.field().equals(Optional.of("consistency"));
  }

  private final class RemoteTenants implements Tenants {
    @Override
    public Tenant create(Tenant tenant) {
      Objects.requireNonNull(tenant, "tenant");
      return client.call("create tenant '" + tenant.id() + "'", SynodClient::isUnavailable,
          endpoint -> endpoint.kv().createTenant(tenant));
    }

    @Override
    public Tenant update(Tenant tenant) {
      Objects.requireNonNull(tenant, "tenant");
      return client.call("update tenant '" + tenant.id() + "'", SynodClient::isUnavailable,
          endpoint -> endpoint.kv().updateTenant(tenant));
    }

    @Override
    public Optional<Tenant> get(String tenantId) {
      return client.call("get tenant '" + tenantId + "'", SynodClient::isUnavailable,
          endpoint -> endpoint.kv().tenant(tenantId));
    }

    @Override
    public List<Tenant> list() {
      return client.call("list tenants", SynodClient::isUnavailable,
          endpoint -> endpoint.kv().tenants());
    }

    @Override
    public boolean delete(String tenantId) {
      return client.call("delete tenant '" + tenantId + "'", SynodClient::isUnavailable,
          endpoint -> endpoint.kv().deleteTenant(tenantId));
    }
  }

  private final class RemoteMembership implements Membership {
    @Override
    public List<StorageNodeInfo> nodes() {
      return client.call("list storage nodes", SynodClient::isUnavailable,
          endpoint -> endpoint.kv().nodes());
    }

    @Override
    public MigrationReport add(StorageNodeInfo node) {
      Objects.requireNonNull(node, "node");
      return client.call("add storage node '" + node.id() + "'", e -> false,
          endpoint -> endpoint.kv().addNode(node));
    }

    @Override
    public MigrationReport remove(String nodeId) {
      return client.call("remove storage node '" + nodeId + "'", e -> false,
          endpoint -> endpoint.kv().removeNode(nodeId));
    }
  }
}
