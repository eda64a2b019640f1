package io.synod.kv.coordinator;

import io.micrometer.core.instrument.MeterRegistry;
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
import io.synod.core.kv.Siblings;
import io.synod.kv.idempotency.IdempotencyStore;
import io.synod.kv.node.LocalNodes;
import io.synod.kv.node.StorageNodeApi;
import io.synod.kv.tenant.TenantCache;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KV coordinator of spec 004: stateless, in front of the storage nodes. It routes a key to its
 * replicas on the consistent-hash ring, reads and writes them in parallel at one / quorum / all,
 * orders versions by vector clocks and repairs replicas it finds behind.
 *
 * <p><b>Writes</b> follow the spec's flow: idempotency check, tenant (cached), replicas, a read of
 * the key's current versions, a new clock that descends from all of them (their merge, plus one
 * for this coordinator), parallel puts, the consistency check, the stored response. The read
 * before the write asks as many replicas as the write needs acknowledgements, not one (004 reads
 * the fastest): with quorum on both sides every acknowledged write is seen, so a new version
 * never becomes the sibling of one it should have replaced.
 *
 * <p><b>Reads</b> ask every replica, answer when the consistency's count has answered, and merge
 * what came back into the versions no other supersedes. Concurrent versions are detected and
 * kept: the answer is the latest by timestamp, or all of them when the read asks for siblings;
 * the next write, which reads them all, supersedes them. Replicas that lacked a version get it
 * (read repair), after the answer by default or before it when configured.
 *
 * <p><b>Fences</b> ({@link #fence}) let a saga's compensation take an idempotency key before
 * the write that would use it: a write that arrives with a fenced key is refused, so a saga
 * step delayed past its compensation cannot take effect after it. The key-value store is a saga
 * participant that way, its idempotency records being the steps' barrier.
 *
 * <p>Membership changes and key migration are in {@link RingMembership}.
 */
public final class KvCoordinator implements KvService, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KvCoordinator.class);
  private static final int KEY_MAX_BYTES = 1024;
  private static final int IDEMPOTENCY_KEY_MAX = 256;
  private static final long SLACK_MS = 500;
  /**
   * The fingerprint a {@link #fence} claims its key with. Not hex, so no write's fingerprint
   * (SHA-256 in hex) can equal it: a write finding it under its key knows the key was fenced.
   */
  public static final String FENCE_FINGERPRINT = "fence:saga-compensation";
  /** The message of the response a fence leaves under its key. */
  public static final String FENCED = "fenced by a saga compensation: a write with this"
      + " idempotency key is refused";
  /**
   * Tries of one fence. A try fails only when the key's holder let go of it between the claim
   * and the look at it (its write failed, or its claim expired); the next try takes the key.
   */
  private static final int FENCE_TRIES_MAX = 3;

  private final KvConfig config;
  private final TenantCache tenants;
  private final IdempotencyStore idempotency;
  private final KvMetrics metrics;
  private final LongSupplier clockMs;
  private final RingMembership membership;
  private final Map<String, RateLimiter> limiters = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "synod-kv-ring");
    t.setDaemon(true);
    return t;
  });

  public KvCoordinator(KvConfig config, RingStore ring, TenantCache tenants,
      IdempotencyStore idempotency, MeterRegistry registry, LongSupplier clockMs) {
    this(config, ring, tenants, idempotency, registry, clockMs, LocalNodes.none());
  }

  /**
   * A coordinator that calls the storage nodes in {@code localNodes} (those running in this
   * process) directly, and the others through gRPC.
   */
  public KvCoordinator(KvConfig config, RingStore ring, TenantCache tenants,
      IdempotencyStore idempotency, MeterRegistry registry, LongSupplier clockMs,
      LocalNodes localNodes) {
    this.config = config;
    this.tenants = tenants;
    this.idempotency = idempotency;
    this.metrics = new KvMetrics(registry);
    this.clockMs = clockMs;
    this.membership = new RingMembership(config, ring, tenants, localNodes);
    long refresh = config.ringRefresh().toMillis();
    timer.scheduleWithFixedDelay(membership::refreshQuietly, refresh, refresh,
        TimeUnit.MILLISECONDS);
  }

  public KvConfig config() {
    return config;
  }

  @Override
  public Tenants tenants() {
    return tenants;
  }

  @Override
  public Membership membership() {
    return membership;
  }

  // ---- writes --------------------------------------------------------------------------------

  @Override
  public KvWriteResult write(KvWrite write) {
    return write(write, config.idempotencyRetention());
  }

  /**
   * As {@link #write(KvWrite)}, remembering the idempotency key for {@code retention} rather
   * than the configured time: a saga's step keeps its barrier as long as the saga may still be
   * compensating (a week), whatever clients' keys are kept for.
   */
  public KvWriteResult write(KvWrite write, Duration retention) {
    return timed("write", () -> {
      checkKey(write.tenantId(), write.key());
      Tenant tenant = admit(write.tenantId());
      if (write.value().length > tenant.maxValueBytes()) {
        throw SynodException.invalid("value", "is " + write.value().length + " bytes; tenant '"
            + tenant.id() + "' allows at most " + tenant.maxValueBytes());
      }
      return idempotent(tenant, write.idempotencyKey(),
          IdempotencyStore.fingerprint("put", write.key(), write.value()), retention,
          () -> put(tenant, write.key(), write.value(), false, write.consistency(),
              write.idempotencyKey()));
    });
  }

  @Override
  public KvWriteResult delete(KvDelete delete) {
    return delete(delete, config.idempotencyRetention());
  }

  /** As {@link #delete(KvDelete)}, remembering the idempotency key for {@code retention}. */
  public KvWriteResult delete(KvDelete delete, Duration retention) {
    return timed("delete", () -> {
      checkKey(delete.tenantId(), delete.key());
      Tenant tenant = admit(delete.tenantId());
      return idempotent(tenant, delete.idempotencyKey(),
          IdempotencyStore.fingerprint("delete", delete.key(), null), retention,
          () -> put(tenant, delete.key(), new byte[0], true, delete.consistency(),
              delete.idempotencyKey()));
    });
  }

  private KvWriteResult put(Tenant tenant, String key, byte[] value, boolean tombstone,
      Consistency asked, String idempotencyKey) {
    Consistency consistency = asked != null ? asked : tenant.defaultConsistency();
    RingMembership.View view = membership.view();
    view.writes().incrementAndGet(); // a membership change waits for the writes of its old view
    try {
      return put(tenant, key, value, tombstone, consistency, idempotencyKey, view);
    } finally {
      view.writes().decrementAndGet();
    }
  }

  private KvWriteResult put(Tenant tenant, String key, byte[] value, boolean tombstone,
      Consistency consistency, String idempotencyKey, RingMembership.View view) {
    List<String> replicas = view.replicas(tenant.id(), key, tenant.replicationFactor());
    int required = required(consistency, replicas);

    // The current versions, from as many replicas as the write needs.
    Gather.Outcome<List<Versioned>> current = await(Gather.of(calls(replicas,
        client -> client.get(tenant.id(), key, config.writeTimeout())), required),
        config.writeTimeout());
    if (!current.reached()) {
      throw quorumFailure("read the current version of", tenant, key, consistency, replicas,
          required, current);
    }
    List<Versioned> seen = new ArrayList<>();
    current.answers().values().forEach(seen::addAll);
    VectorClock clock = Siblings.mergedClock(seen).increment(config.coordinatorId());
    Versioned version = new Versioned(value, clock, clockMs.getAsLong(), config.coordinatorId(),
        tombstone);

    // A joining node's copy and a leaving node's successor get the write too; only the serving
    // replicas count towards the consistency.
    for (String extra : view.extraWriteTargets(tenant.id(), key, tenant.replicationFactor())) {
      membership.client(extra).put(tenant.id(), key, List.of(version), config.writeTimeout())
          .whenComplete((r, e) -> {
            if (e != null) {
              LOG.warn("write of {}/{} to joining node {} failed: {}", tenant.id(), key, extra,
                  Gather.unwrap(e).getMessage());
            }
          });
    }
    Gather.Outcome<List<Versioned>> acks = await(Gather.of(calls(replicas,
        client -> client.put(tenant.id(), key, List.of(version), config.writeTimeout())), required),
        config.writeTimeout());
    if (!acks.reached()) {
      throw quorumFailure("write", tenant, key, consistency, replicas, required, acks);
    }
    if (acks.answers().values().stream().anyMatch(siblings -> siblings.size() > 1)) {
      metrics.conflict(); // a concurrent write from another coordinator landed beside ours
    }
    return new KvWriteResult(true, key, idempotencyKey, clock, acks.answers().size(), consistency,
        false, "");
  }

  private KvWriteResult idempotent(Tenant tenant, String idempotencyKey, String fingerprint,
      Duration retention, Supplier<KvWriteResult> write) {
    if (idempotencyKey == null) {
      return write.get();
    }
    checkIdempotencyKey(idempotencyKey);
    long deadline = System.nanoTime() + config.writeTimeout().toNanos();
    while (true) {
      IdempotencyStore.Claim claim = idempotency.claim(tenant.id(), idempotencyKey, fingerprint,
          retention);
      switch (claim) {
        case IdempotencyStore.Claim.Done done -> {
          return done.firstResponse().asDuplicate();
        }
        case IdempotencyStore.Claim.Mismatch mismatch -> {
          Optional<IdempotencyStore.Held> holder = idempotency.peek(tenant.id(), idempotencyKey);
          if (holder.isPresent()) {
            throw holder.get().fingerprint().equals(FENCE_FINGERPRINT)
                ? fenced(tenant, idempotencyKey)
                : SynodException.invalid("idempotency_key", "'" + idempotencyKey + "' was used"
                    + " for a different request on tenant '" + tenant.id() + "'; use a new key"
                    + " for a new request");
          }
          // The other request let go of the key since (its write failed, its claim expired).
          checkDeadline(deadline, idempotencyKey);
        }
        case IdempotencyStore.Claim.InProgress inProgress -> {
          checkDeadline(deadline, idempotencyKey);
          sleep(20);
        }
        case IdempotencyStore.Claim.First first -> {
          KvWriteResult result;
          try {
            result = write.get();
          } catch (RuntimeException e) {
            idempotency.release(tenant.id(), idempotencyKey);
            throw e;
          }
          idempotency.complete(tenant.id(), idempotencyKey, result, retention);
          return result;
        }
      }
    }
  }

  private static void checkDeadline(long deadline, String idempotencyKey) {
    if (System.nanoTime() - deadline > 0) {
      throw new SynodException(ErrorCode.ABORTED, "idempotency_key", "a write with '"
          + idempotencyKey + "' is still in progress; retry it later");
    }
  }

  private static void checkIdempotencyKey(String idempotencyKey) {
    if (idempotencyKey == null || idempotencyKey.isBlank()
        || idempotencyKey.length() > IDEMPOTENCY_KEY_MAX) {
      throw SynodException.invalid("idempotency_key", "must be 1 to " + IDEMPOTENCY_KEY_MAX
          + " characters, not blank");
    }
  }

  private static SynodException fenced(Tenant tenant, String idempotencyKey) {
    return new SynodException(ErrorCode.FAILED_PRECONDITION, "idempotency_key", "'"
        + idempotencyKey + "' of tenant '" + tenant.id() + "' was fenced by a saga"
        + " compensation: the step it belongs to was compensated before this write came, so it"
        + " must not take effect");
  }

  // ---- fences --------------------------------------------------------------------------------

  /** What {@link #fence} found under an idempotency key. */
  public enum Fence {
    /**
     * Nothing held the key: the write never ran (or failed, leaving nothing). The fence holds
     * the key now, for the retention given; a write with it is refused (FAILED_PRECONDITION,
     * field {@code idempotency_key}).
     */
    NEVER_RAN,
    /** An earlier fence holds the key: this is a repeat of it. */
    FENCED_BEFORE,
    /** A write with the key completed: its effect exists. The key stays that write's. */
    APPLIED,
    /**
     * A write with the key is under way (or another fence is being placed): whether it takes
     * effect is not known yet. Ask again later; its claim ends with it or with its lease.
     */
    IN_PROGRESS
  }

  /**
   * Fences {@code idempotencyKey} of the tenant against a write that has not come yet, or tells
   * how far the write that holds it got (see {@link Fence}). A saga's compensation calls it on
   * its action's key before undoing anything: an action that never ran is then refused should it
   * arrive late, and one that ran is known to need undoing. The fence is an idempotency record
   * like a write's, claimed with {@link #FENCE_FINGERPRINT} and completed with a response whose
   * {@code success} is false and whose message says {@value #FENCED}.
   *
   * <p>A write whose claim outlived its lease (a coordinator that crashed mid-write) counts as
   * never run: the lease is what bounds a write, as for the write's own retries.
   *
   * @param retention how long the fence holds the key; as long as the write could still come
   * @throws SynodException INVALID_ARGUMENT naming {@code tenant_id}, {@code idempotency_key} or
   *     {@code retention}; NOT_FOUND for an unknown tenant; UNAVAILABLE when the idempotency
   *     store cannot be reached; ABORTED when the key changed hands on every try
   */
  public Fence fence(String tenantId, String idempotencyKey, Duration retention) {
    return timed("fence", () -> {
      Tenant.checkId("tenant_id", tenantId);
      checkIdempotencyKey(idempotencyKey);
      Tenant tenant = tenants.require(tenantId);
      for (int tries = 0; tries < FENCE_TRIES_MAX; tries++) {
        IdempotencyStore.Claim claim = idempotency.claim(tenant.id(), idempotencyKey,
            FENCE_FINGERPRINT, retention);
        switch (claim) {
          case IdempotencyStore.Claim.First first -> {
            idempotency.complete(tenant.id(), idempotencyKey, new KvWriteResult(false, null,
                idempotencyKey, null, 0, null, false, FENCED), retention);
            return Fence.NEVER_RAN;
          }
          case IdempotencyStore.Claim.Done done -> {
            return Fence.FENCED_BEFORE;
          }
          case IdempotencyStore.Claim.InProgress inProgress -> {
            return Fence.IN_PROGRESS;
          }
          case IdempotencyStore.Claim.Mismatch mismatch -> {
            Optional<IdempotencyStore.Held> holder = idempotency.peek(tenant.id(),
                idempotencyKey);
            if (holder.isPresent()) {
              return holder.get() instanceof IdempotencyStore.Held.Completed
                  ? Fence.APPLIED : Fence.IN_PROGRESS;
            }
            // The write let go of the key since (it failed, or its claim expired): take it.
          }
        }
      }
      throw new SynodException(ErrorCode.ABORTED, "idempotency_key", "'" + idempotencyKey
          + "' of tenant '" + tenantId + "' changed hands " + FENCE_TRIES_MAX + " times while"
          + " it was being fenced; retry");
    });
  }

  // ---- reads ---------------------------------------------------------------------------------

  @Override
  public KvReadResult read(KvRead read) {
    return timed("read", () -> {
      checkKey(read.tenantId(), read.key());
      Tenant tenant = admit(read.tenantId());
      Consistency consistency = read.consistency() != null ? read.consistency()
          : tenant.defaultConsistency();
      String key = read.key();
      List<String> replicas = membership.view().replicas(tenant.id(), key,
          tenant.replicationFactor());
      int required = required(consistency, replicas);
      Gather<List<Versioned>> gather = Gather.of(calls(replicas,
          client -> client.get(tenant.id(), key, config.readTimeout())), required);
      Gather.Outcome<List<Versioned>> outcome = await(gather, config.readTimeout());
      if (!outcome.reached()) {
        throw quorumFailure("read", tenant, key, consistency, replicas, required, outcome);
      }
      List<Versioned> merged = merge(outcome.answers());
      if (merged.size() > 1) {
        metrics.conflict();
      }
      if (config.repairAsync()) {
        gather.all().thenAccept(all -> repair(tenant, key, merge(all), all));
      } else {
        repair(tenant, key, merged, outcome.answers()).join();
      }
      if (merged.isEmpty()) {
        return new KvReadResult(true, key, false, new byte[0], VectorClock.EMPTY, List.of(),
            consistency, "");
      }
      Versioned winner = Siblings.winner(merged);
      boolean found = read.siblings() ? merged.stream().anyMatch(v -> !v.tombstone())
          : !winner.tombstone();
      return new KvReadResult(true, key, found, winner.value(), winner.clock(),
          read.siblings() ? merged : List.of(), consistency, "");
    });
  }

  private static List<Versioned> merge(Map<String, List<Versioned>> answers) {
    List<Versioned> all = new ArrayList<>();
    answers.values().forEach(all::addAll);
    return Siblings.reconcile(all);
  }

  /** Sends every replica that answered without some of {@code merged} the versions it lacks. */
  private CompletableFuture<Void> repair(Tenant tenant, String key, List<Versioned> merged,
      Map<String, List<Versioned>> answers) {
    List<CompletableFuture<?>> puts = new ArrayList<>();
    answers.forEach((node, versions) -> {
      if (!Siblings.covers(versions, merged)) {
        metrics.repaired(1);
        puts.add(membership.client(node).put(tenant.id(), key, merged, config.writeTimeout())
            .whenComplete((r, e) -> {
              if (e != null) {
                LOG.warn("read repair of {}/{} at {} failed: {}", tenant.id(), key, node,
                    Gather.unwrap(e).getMessage());
              }
            }));
      }
    });
    return CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new))
        .exceptionally(e -> null);
  }

  // ---- shared --------------------------------------------------------------------------------

  private Tenant admit(String tenantId) {
    Tenant tenant = tenants.require(tenantId);
    if (tenant.maxRequestsPerSecond() > 0) {
      RateLimiter limiter = limiters.compute(tenantId, (id, old) ->
          old != null && old.perSecond() == tenant.maxRequestsPerSecond() ? old
              : new RateLimiter(tenant.maxRequestsPerSecond(), System.nanoTime()));
      if (!limiter.tryAcquire(System.nanoTime())) {
        throw new SynodException(ErrorCode.RESOURCE_EXHAUSTED, "tenant_id", "tenant '" + tenantId
            + "' is over its quota of " + tenant.maxRequestsPerSecond()
            + " requests a second on this coordinator; retry with backoff");
      }
    }
    return tenant;
  }

  private static void checkKey(String tenantId, String key) {
    Tenant.checkId("tenant_id", tenantId);
    if (key == null || key.isEmpty()) {
      throw SynodException.invalid("key", "must not be empty");
    }
    int bytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > KEY_MAX_BYTES) {
      throw SynodException.invalid("key", "must be at most " + KEY_MAX_BYTES
          + " bytes in UTF-8 (was " + bytes + ")");
    }
  }

  private static int required(Consistency consistency, List<String> replicas) {
    if (replicas.isEmpty()) {
      throw new SynodException(ErrorCode.UNAVAILABLE, null, "the ring has no storage nodes; add"
          + " one (synod kv nodes add) first");
    }
    return consistency.required(replicas.size());
  }

  private Map<String, CompletableFuture<List<Versioned>>> calls(List<String> replicas,
      java.util.function.Function<StorageNodeApi, CompletableFuture<List<Versioned>>> call) {
    Map<String, CompletableFuture<List<Versioned>>> calls = new LinkedHashMap<>();
    for (String node : replicas) {
      CompletableFuture<List<Versioned>> future;
      try {
        future = call.apply(membership.client(node));
      } catch (RuntimeException e) {
        future = CompletableFuture.failedFuture(e);
      }
      calls.put(node, future);
    }
    return calls;
  }

  private static <T> Gather.Outcome<T> await(Gather<T> gather, java.time.Duration timeout) {
    try {
      return gather.outcome().get(timeout.toMillis() + SLACK_MS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return new Gather.Outcome<>(Map.of(), Map.of("*", new TimeoutException("no answer within "
          + timeout)), false);
    } catch (ExecutionException e) {
      throw new SynodException(ErrorCode.INTERNAL, "gathering replicas' answers failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted", e);
    }
  }

  private SynodException quorumFailure(String what, Tenant tenant, String key,
      Consistency consistency, List<String> replicas, int required,
      Gather.Outcome<?> outcome) {
    metrics.quorumFailure();
    return new SynodException(ErrorCode.UNAVAILABLE, "consistency", consistency.wireName()
        + " not reached: could not " + what + " key '" + key + "' of tenant '" + tenant.id()
        + "': needs " + required + " of " + replicas.size() + " replicas " + replicas + ", "
        + outcome.failures().size() + " failed (" + Gather.describe(outcome.failures()) + ")");
  }

  private <T> T timed(String operation, Supplier<T> call) {
    long start = System.nanoTime();
    String outcome = "error";
    try {
      T result = call.get();
      outcome = "ok";
      return result;
    } catch (SynodException e) {
      outcome = e.code().name().toLowerCase(java.util.Locale.ROOT);
      throw e;
    } finally {
      metrics.request(operation, outcome, System.nanoTime() - start);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    membership.close();
  }

}
