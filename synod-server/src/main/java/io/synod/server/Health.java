package io.synod.server;

import io.synod.api.spi.Participant;
import io.synod.engine.SynodNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Readiness: this node is part of a group that has a leader, and every configured store answers.
 * Liveness is the HTTP server answering at all.
 */
public final class Health {
  private static final Duration STORE_PING_TIMEOUT = Duration.ofSeconds(2);

  private final SynodNode node;
  private final List<Participant> stores;

  public Health(SynodNode node, List<Participant> stores) {
    this.node = node;
    this.stores = List.copyOf(stores);
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
    return new Report(ready, checks);
  }
}
