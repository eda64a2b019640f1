package io.synod.kv.node;

import io.synod.api.SynodException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * How one storage node runs. Validated here, once, with messages naming the field.
 *
 * @param id the node's id on the hash ring: 1 to 64 letters, digits, '.', '_' or '-'
 * @param dataDir where its RocksDB lives; a restart on the same directory keeps every
 *     acknowledged write
 * @param host the address the gRPC server binds to (default 127.0.0.1)
 * @param port its port; 0 picks a free one
 * @param syncWrites fsync the write-ahead log on every write (default false): needed to survive
 *     a power loss; without it an acknowledged write survives the process being killed
 * @param tombstoneGrace how long a delete's tombstone is kept before it may be collected
 *     (default 24 h): longer than any replica may stay behind, or a delete could be undone
 * @param gcInterval how often tombstones are looked for (default 1 h)
 */
public record StorageNodeConfig(String id, Path dataDir, String host, int port,
    boolean syncWrites, Duration tombstoneGrace, Duration gcInterval) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final Duration DEFAULT_TOMBSTONE_GRACE = Duration.ofHours(24);
  public static final Duration DEFAULT_GC_INTERVAL = Duration.ofHours(1);

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  public StorageNodeConfig {
    if (id == null || !ID.matcher(id).matches()) {
      throw SynodException.invalid("id", "must be 1 to 64 letters, digits, '.', '_' or '-',"
          + " starting with a letter or digit (was " + (id == null ? "missing" : "'" + id + "'")
          + ")");
    }
    if (dataDir == null) {
      throw SynodException.invalid("data_dir", "is required");
    }
    if (host == null || host.isBlank()) {
      throw SynodException.invalid("host", "is required (was " + (host == null ? "missing"
          : "'" + host + "'") + ")");
    }
    if (port < 0 || port > 65_535) {
      throw SynodException.invalid("port", "must be 0 (any free port) to 65535 (was " + port + ")");
    }
    if (tombstoneGrace == null || tombstoneGrace.isNegative()) {
      throw SynodException.invalid("tombstone_grace", "must be a duration of 0 or more (was "
          + tombstoneGrace + ")");
    }
    if (gcInterval == null || gcInterval.isNegative() || gcInterval.isZero()) {
      throw SynodException.invalid("gc_interval", "must be a positive duration (was "
          + gcInterval + ")");
    }
  }

  /** A node on 127.0.0.1, any free port, without fsync, with the default grace and interval. */
  public static StorageNodeConfig of(String id, Path dataDir) {
    return new StorageNodeConfig(id, dataDir, DEFAULT_HOST, 0, false, DEFAULT_TOMBSTONE_GRACE,
        DEFAULT_GC_INTERVAL);
  }

  public StorageNodeConfig withHost(String h) {
    return new StorageNodeConfig(id, dataDir, h, port, syncWrites, tombstoneGrace, gcInterval);
  }

  public StorageNodeConfig withPort(int p) {
    return new StorageNodeConfig(id, dataDir, host, p, syncWrites, tombstoneGrace, gcInterval);
  }

  public StorageNodeConfig withSyncWrites(boolean s) {
    return new StorageNodeConfig(id, dataDir, host, port, s, tombstoneGrace, gcInterval);
  }

  public StorageNodeConfig withTombstoneGrace(Duration g) {
    return new StorageNodeConfig(id, dataDir, host, port, syncWrites, g, gcInterval);
  }

  public StorageNodeConfig withGcInterval(Duration i) {
    return new StorageNodeConfig(id, dataDir, host, port, syncWrites, tombstoneGrace, i);
  }
}
