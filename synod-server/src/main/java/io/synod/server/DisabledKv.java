package io.synod.server;

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
import java.util.Optional;

/**
 * The KV API of a node whose key-value store is switched off ({@code kv.enabled: false}): every
 * call fails with FAILED_PRECONDITION saying so, rather than UNIMPLEMENTED or a 404 that would
 * look like a wrong address.
 */
final class DisabledKv implements KvService, KvService.Tenants, KvService.Membership {
  static final DisabledKv INSTANCE = new DisabledKv();

  private DisabledKv() {}

  private static SynodException refused() {
    return new SynodException(ErrorCode.FAILED_PRECONDITION, null, "the key-value store is"
        + " disabled on this node (coordination_service.kv.enabled is false); enable it, or"
        + " call a node that serves it");
  }

  @Override
  public KvWriteResult write(KvWrite write) {
    throw refused();
  }

  @Override
  public KvReadResult read(KvRead read) {
    throw refused();
  }

  @Override
  public KvWriteResult delete(KvDelete delete) {
    throw refused();
  }

  @Override
  public Tenants tenants() {
    return this;
  }

  @Override
  public Membership membership() {
    return this;
  }

  @Override
  public Tenant create(Tenant tenant) {
    throw refused();
  }

  @Override
  public Tenant update(Tenant tenant) {
    throw refused();
  }

  @Override
  public Optional<Tenant> get(String tenantId) {
    throw refused();
  }

  @Override
  public List<Tenant> list() {
    throw refused();
  }

  @Override
  public boolean delete(String tenantId) {
    throw refused();
  }

  @Override
  public List<StorageNodeInfo> nodes() {
    throw refused();
  }

  @Override
  public MigrationReport add(StorageNodeInfo node) {
    throw refused();
  }

  @Override
  public MigrationReport remove(String nodeId) {
    throw refused();
  }
}
