package io.synod.kv.coordinator;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvService;
import io.synod.api.kv.Tenant;
import io.synod.core.kv.HashRing;
import io.synod.kv.node.KeyEntry;
import io.synod.kv.node.LocalNodes;
import io.synod.kv.node.StorageNodeApi;
import io.synod.kv.node.StorageNodeClient;
import io.synod.kv.tenant.TenantCache;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ring's membership as this coordinator sees it, and the moves a change makes.
 *
 * <p>The membership lives in a {@link RingStore} that every coordinator reads every
 * {@code ring_refresh}. A change goes through three states so that nothing acknowledged is lost
 * while keys move and reads and writes go on:
 *
 * <ol>
 *   <li>The node is stored as JOINING (or LEAVING). Reads still use the old ring; writes go to the
 *       replicas of both rings, counting only the old ones towards the consistency. The change
 *       waits one {@code ring_refresh}, so every coordinator writes to both before keys move.
 *   <li>Every node's keys are scanned and each key is sent to the nodes the new ring adds to its
 *       replicas. Sending merges by vector clock on the receiver, so a copy never overwrites a
 *       newer write made meanwhile.
 *   <li>The node is stored as ACTIVE (or removed): the new ring serves. After another
 *       {@code ring_refresh}, when no coordinator reads the old ring any more, the nodes that
 *       are no longer replicas of a key drop it, if it did not change since it was scanned.
 * </ol>
 *
 * <p>One change at a time: a second is refused while one is in progress.
 */
final class RingMembership implements KvService.Membership, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RingMembership.class);
  private static final int PAGE = 500;
  private static final Duration MOVE_TIMEOUT = Duration.ofSeconds(30);

  /**
   * The rings in force: {@code serving} answers reads and counts acknowledgements; {@code target}
   * is where a change in progress is going (the same ring when none is).
   */
  record View(HashRing serving, HashRing target, Map<String, String> addresses,
      AtomicInteger writes) {
    View(HashRing serving, HashRing target, Map<String, String> addresses) {
      this(serving, target, addresses, new AtomicInteger());
    }

    List<String> replicas(String tenantId, String key, int n) {
      return serving.replicas(tenantId, key, n);
    }

    /** Nodes that get a write beyond its serving replicas while a change is in progress. */
    List<String> extraWriteTargets(String tenantId, String key, int n) {
      if (serving == target) {
        return List.of();
      }
      List<String> extra = new ArrayList<>(target.replicas(tenantId, key, n));
      extra.removeAll(serving.replicas(tenantId, key, n));
      return extra;
    }
  }

  private final KvConfig config;
  private final RingStore store;
  private final TenantCache tenants;
  private final Map<String, StorageNodeApi> clients = new ConcurrentHashMap<>();
  private final LocalNodes localNodes;
  private final Object changes = new Object();
  private volatile View view;

  RingMembership(KvConfig config, RingStore store, TenantCache tenants, LocalNodes localNodes) {
    this.config = config;
    this.localNodes = localNodes;
    this.store = store;
    this.tenants = tenants;
    refresh();
  }

  View view() {
    return view;
  }

  /** Reads the membership again; the ring changes when the store says so. */
  void refresh() {
    List<RingStore.StoredNode> nodes = store.load();
    Map<String, String> addresses = new LinkedHashMap<>();
    nodes.forEach(n -> addresses.put(n.id(), n.address()));
    HashRing serving = ringOf(nodes, s -> s != RingStore.State.JOINING);
    HashRing target = ringOf(nodes, s -> s != RingStore.State.LEAVING);
    if (target.nodes().equals(serving.nodes())) {
      target = serving;
    }
    View old = view;
    view = new View(serving, target, addresses);
    clients.entrySet().removeIf(e -> {
      boolean stale = !Objects.equals(addresses.get(e.getKey()), e.getValue().address());
      if (stale) {
        e.getValue().close();
      }
      return stale;
    });
    if (old != null && !old.serving().nodes().equals(serving.nodes())) {
      LOG.info("ring now serves {}", serving.nodes());
    }
  }

  void refreshQuietly() {
    try {
      refresh();
    } catch (RuntimeException e) {
      LOG.warn("could not read the ring's membership: {}", e.getMessage());
    }
  }

  StorageNodeApi client(String nodeId) {
    StorageNodeApi client = clients.get(nodeId);
    if (client != null) {
      return client;
    }
    String address = view.addresses().get(nodeId);
    if (address == null) {
      throw new SynodException(ErrorCode.UNAVAILABLE, null, "storage node " + nodeId
          + " is not on the ring");
    }
    return clients.computeIfAbsent(nodeId, id -> localNodes.client(id, address)
        .orElseGet(() -> new StorageNodeClient(id, address)));
  }

  @Override
  public List<KvService.StorageNodeInfo> nodes() {
    List<KvService.StorageNodeInfo> out = new ArrayList<>();
    store.load().forEach(n -> out.add(new KvService.StorageNodeInfo(n.id(), n.address())));
    return out;
  }

  @Override
  public KvService.MigrationReport add(KvService.StorageNodeInfo node) {
    Tenant.checkId("node_id", node.id());
    if (node.address() == null || !node.address().matches("[^:\\s]+:\\d{1,5}")) {
      throw SynodException.invalid("address", "must be host:port (was " + node.address() + ")");
    }
    synchronized (changes) {
      refresh();
      requireNoChangeInProgress();
      if (view.addresses().containsKey(node.id())) {
        throw new SynodException(ErrorCode.ALREADY_EXISTS, "node_id", "storage node "
            + node.id() + " is already on the ring");
      }
      try (StorageNodeApi probe = localNodes.client(node.id(), node.address())
          .orElseGet(() -> new StorageNodeClient(node.id(), node.address()))) {
        String answered = probe.info().nodeId();
        if (!answered.equals(node.id())) {
          throw SynodException.invalid("node_id", "the node at " + node.address() + " says it is '"
              + answered + "', not '" + node.id() + "'");
        }
      }
      long start = System.nanoTime();
      HashRing before = view.serving();
      HashRing after = before.with(node.id());
      if (before.nodes().isEmpty()) { // the first node: nothing to move, nobody to warn
        store.save(new RingStore.StoredNode(node.id(), node.address(), RingStore.State.ACTIVE,
            after.tokens(node.id())));
        refresh();
        return new KvService.MigrationReport(node.id(), 0, 0, 0,
            (System.nanoTime() - start) / 1_000_000);
      }
      store.save(new RingStore.StoredNode(node.id(), node.address(), RingStore.State.JOINING,
          after.tokens(node.id())));
      switchAndDrain(); // this coordinator's writes all go to the joining node too now
      pause(); // and every other coordinator's
      long[] moved = copy(before, after, null);
      store.save(new RingStore.StoredNode(node.id(), node.address(), RingStore.State.ACTIVE,
          after.tokens(node.id())));
      switchAndDrain();
      pause(); // no coordinator reads or writes the old replicas any more
      long dropped = dropMoved(before, after);
      LOG.info("storage node {} joined: {} keys scanned, {} versions copied, {} keys dropped",
          node.id(), moved[0], moved[1], dropped);
      return new KvService.MigrationReport(node.id(), moved[0], moved[1], dropped,
          (System.nanoTime() - start) / 1_000_000);
    }
  }

  @Override
  public KvService.MigrationReport remove(String nodeId) {
    Tenant.checkId("node_id", nodeId);
    synchronized (changes) {
      refresh();
      requireNoChangeInProgress();
      String address = view.addresses().get(nodeId);
      if (address == null) {
        throw new SynodException(ErrorCode.NOT_FOUND, "node_id", "storage node " + nodeId
            + " is not on the ring");
      }
      long start = System.nanoTime();
      HashRing before = view.serving();
      HashRing after = before.without(nodeId);
      store.save(new RingStore.StoredNode(nodeId, address, RingStore.State.LEAVING,
          before.tokens(nodeId)));
      switchAndDrain();
      pause();
      long[] moved = copy(before, after, nodeId);
      store.remove(nodeId);
      refresh();
      LOG.info("storage node {} left: {} keys scanned, {} versions copied", nodeId, moved[0],
          moved[1]);
      return new KvService.MigrationReport(nodeId, moved[0], moved[1], 0,
          (System.nanoTime() - start) / 1_000_000);
    }
  }

  private void requireNoChangeInProgress() {
    if (view.serving() != view.target()) {
      throw new SynodException(ErrorCode.FAILED_PRECONDITION, null, "a membership change is in"
          + " progress (ring " + view.serving().nodes() + " moving to " + view.target().nodes()
          + "); wait for it to finish");
    }
  }

  /**
   * Sends each key to the nodes {@code after} adds to its replicas, reading every node of
   * {@code before}. A node that cannot be scanned fails the change, unless it is the one leaving
   * ({@code leaving}): its keys are on the other replicas too.
   */
  private long[] copy(HashRing before, HashRing after, String leaving) {
    long[] counts = new long[2]; // keys scanned, versions copied
    for (String source : before.nodes()) {
      scanPages(source, page -> {
        List<CompletableFuture<?>> sends = new ArrayList<>();
        for (KeyEntry entry : page) {
          counts[0]++;
          int n = replicationFactor(entry.tenantId());
          List<String> gaining = new ArrayList<>(after.replicas(entry.tenantId(), entry.key(), n));
          gaining.removeAll(before.replicas(entry.tenantId(), entry.key(), n));
          for (String target : gaining) {
            counts[1] += entry.versions().size();
            sends.add(client(target).put(entry.tenantId(), entry.key(), entry.versions(),
                MOVE_TIMEOUT));
          }
        }
        try {
          CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).join();
        } catch (RuntimeException e) {
          throw new SynodException(ErrorCode.UNAVAILABLE, "moving keys failed: "
              + Gather.unwrap(e).getMessage(), e);
        }
      }, e -> {
        if (!source.equals(leaving)) {
          throw new SynodException(ErrorCode.UNAVAILABLE, "moving keys needs every node; "
              + source + " could not be scanned: " + e.getMessage(), e);
        }
        LOG.warn("leaving node {} could not be scanned ({}); its keys come from the other"
            + " replicas", source, e.getMessage());
      });
    }
    return counts;
  }

  /** Makes the nodes that are no longer replicas of a key forget it, if it did not change. */
  private long dropMoved(HashRing before, HashRing after) {
    long[] dropped = new long[1];
    for (String source : before.nodes()) {
      scanPages(source, page -> {
        List<KeyEntry> gone = new ArrayList<>();
        for (KeyEntry entry : page) {
          int n = replicationFactor(entry.tenantId());
          if (!after.replicas(entry.tenantId(), entry.key(), n).contains(source)) {
            gone.add(entry);
          }
        }
        if (!gone.isEmpty()) {
          dropped[0] += client(source).drop(gone, MOVE_TIMEOUT);
        }
      }, e -> LOG.warn("node {} could not be scanned to drop moved keys ({}); they stay there,"
          + " unread", source, e.getMessage()));
    }
    return dropped[0];
  }

  /**
   * Hands {@code each} the pages of {@code node}'s keys in key order; a page that cannot be read
   * ends the scan and goes to {@code scanFailed}.
   */
  private void scanPages(String node, Consumer<List<KeyEntry>> each,
      Consumer<RuntimeException> scanFailed) {
    String afterTenant = "";
    String afterKey = "";
    while (true) {
      List<KeyEntry> page;
      try {
        page = client(node).scan(afterTenant, afterKey, PAGE, MOVE_TIMEOUT);
      } catch (RuntimeException e) {
        scanFailed.accept(e);
        return;
      }
      each.accept(page);
      if (page.size() < PAGE) {
        return;
      }
      KeyEntry last = page.get(page.size() - 1);
      afterTenant = last.tenantId();
      afterKey = last.key();
    }
  }


  private int replicationFactor(String tenantId) {
    // A key of a dropped tenant keeps the default factor's replicas.
    return tenants.get(tenantId).map(Tenant::replicationFactor).orElse(3);
  }

  /**
   * Reads the membership again and waits for the writes this coordinator began under the view
   * it replaced: they still go to the old replicas only, so keys must not be copied (or
   * dropped) before they end. Other coordinators' writes are covered by {@link #pause()}.
   */
  private void switchAndDrain() {
    View old = view;
    refresh();
    long until = System.nanoTime() + config.writeTimeout().toNanos() + 1_000_000_000L;
    while (old.writes().get() > 0 && System.nanoTime() - until < 0) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while the ring changed", e);
      }
    }
  }

  private void pause() {
    try {
      Thread.sleep(config.ringRefresh().toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while the ring changed", e);
    }
  }

  private HashRing ringOf(List<RingStore.StoredNode> nodes, Predicate<RingStore.State> included) {
    Map<String, long[]> tokens = new LinkedHashMap<>();
    for (RingStore.StoredNode n : nodes) {
      if (included.test(n.state())) {
        tokens.put(n.id(), n.tokens());
      }
    }
    return HashRing.of(tokens, config.virtualNodes());
  }

  @Override
  public void close() {
    clients.values().forEach(StorageNodeApi::close);
    clients.clear();
  }
}
