package io.synod.server;

import io.synod.api.spi.Participant;
import io.synod.engine.SynodNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Readiness: this node is part of a group that has a leader, every configured store answers, and
 * (when the key-value store is enabled) its metadata database answers. Storage nodes are not
 * checked: the store serves through replicas that are down, at the consistencies they allow.
 * Liveness is the HTTP server answering at all.
 */
public final class Health {
  private static final Duration STORE_PING_TIMEOUT = Duration.ofSeconds(2);

  private final SynodNode node;
  private final List<Participant> stores;
  private final Supplier<String> kv;

  public Health(SynodNode node, List<Participant> stores) {
    this(node, stores, null);
  }

  /**
   * @param kv the key-value store's check: what it found ("ok ..."), or an exception saying why
   *     not; null when the store is disabled
   */
  public Health(SynodNode node, List<Participant> stores, Supplier<String> kv) {
    this.node = node;
    this.stores = List.copyOf(stores);
    this.kv = kv;
  }

  /** @param checks each check's name and what it found: "ok" or why not */
  public record Report(boolean ready, Map<String, String> checks) {}

  public Report ready() {
    Map<String, String> checks = new LinkedHashMap<>();
    String leader = node.groupInfo().leaderId().orElse(null);
    checks.put("raft", leader == null ? "no leader elected yet" : "ok (leader " + leader + ")");
    boolean ready = leader != null;
    for (Participant store : stores) {
      String result;
      try {
        store.ping(STORE_PING_TIMEOUT);
        result = "ok";
      } catch (Exception e) {
        result = "unreachable: " + e.getMessage();
        ready = false;
      }
      checks.put("store:" + store.name(), result);
    }
    if (kv != null) {
      String result;
      try {
        result = kv.get();
      } catch (RuntimeException e) {
        result = "unreachable: " + e.getMessage();
        ready = false;
      }
      checks.put("kv", result);
    }
    return new Report(ready, checks);
  }
}
