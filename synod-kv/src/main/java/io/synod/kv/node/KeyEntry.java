package io.synod.kv.node;

import io.synod.api.kv.Versioned;
import java.util.List;
import java.util.Objects;

/**
 * One key of a storage node with its siblings: what a scan yields (to copy keys to the node that
 * takes over their range) and what a drop names (to forget them afterwards, if unchanged).
 */
public record KeyEntry(String tenantId, String key, List<Versioned> versions) {
  public KeyEntry {
    Objects.requireNonNull(tenantId, "tenantId");
    Objects.requireNonNull(key, "key");
    versions = List.copyOf(versions);
  }
}
