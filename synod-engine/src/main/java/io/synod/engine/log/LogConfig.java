package io.synod.engine.log;

import io.synod.api.SynodException;
import io.synod.core.event.EventStateMachine;
import io.synod.core.lock.LockTable;
import io.synod.core.saga.SagaStateMachine;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Where and how the coordinator log runs.
 *
 * @param clusterId names the Raft group (and the gid prefix of the participants' transactions)
 * @param selfId this replica's id; one of {@code peers}
 * @param peers every replica's id and {@code host:port} Raft address, in a stable order
 * @param storageDir where this replica keeps its log and snapshots
 * @param snapshotEveryEntries take a snapshot after this many entries, so restart replays little
 * @param retention how long finished transactions are remembered (repeated ids return them)
 * @param retainedFinishedMax how many finished transactions are remembered at most
 * @param proposalsInFlightMax how many log entries may be in flight at once; commands arriving
 *     meanwhile are packed into the next entry (default 1)
 * @param proposalTimeout how long a proposal may wait for its commit before its outcome is unknown
 * @param lockLimits bounds of the lock table (sessions, locks, waiters, escalation threshold)
 * @param sagaLimits bounds of the saga state (active sagas, finished ones remembered and how long)
 * @param eventLimits bounds of the event bus and choreographed sagas (events retained, consumer
 *     groups, sagas)
 */
public record LogConfig(
    String clusterId,
    String selfId,
    Map<String, String> peers,
    Path storageDir,
    long snapshotEveryEntries,
    Duration retention,
    int retainedFinishedMax,
    int proposalsInFlightMax,
    Duration proposalTimeout,
    LockTable.Limits lockLimits,
    SagaStateMachine.Limits sagaLimits,
    EventStateMachine.Limits eventLimits) {

  public static final Duration DEFAULT_RETENTION = Duration.ofHours(1);
  public static final int DEFAULT_RETAINED_FINISHED_MAX = 100_000;
  public static final long DEFAULT_SNAPSHOT_EVERY_ENTRIES = 10_000;
  /**
   * One entry in flight, and everything that queues meanwhile goes in the next: the fewest fsyncs.
   * On bench 2pc at 32 clients this beat four in flight (synod 2,138 and 2,041 txn/s against
   * 1,879 and 1,699 in alternating runs), the fsyncs' kernel time being ~10 % of the JVM's CPU.
   */
  public static final int DEFAULT_PROPOSALS_IN_FLIGHT_MAX = 1;

  public LogConfig {
    Objects.requireNonNull(storageDir, "storageDir");
    Objects.requireNonNull(lockLimits, "lockLimits");
    Objects.requireNonNull(sagaLimits, "sagaLimits");
    Objects.requireNonNull(eventLimits, "eventLimits");
    peers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(peers));
    if (clusterId == null || !clusterId.matches("[a-z0-9]{1,16}")) {
      throw SynodException.invalid("cluster_id",
          "must be 1 to 16 lower-case letters or digits; got '" + clusterId + "'");
    }
    if (!peers.containsKey(selfId)) {
      throw SynodException.invalid("node_id",
          "must be one of the configured peers " + peers.keySet() + "; got '" + selfId + "'");
    }
    for (var peer : peers.entrySet()) {
      if (!peer.getValue().matches("[^:\\s]+:\\d{1,5}")) {
        throw SynodException.invalid("peers." + peer.getKey(),
            "must be host:port; got '" + peer.getValue() + "'");
      }
    }
    if (snapshotEveryEntries < 100) {
      throw SynodException.invalid("snapshot_every_entries", "must be at least 100; got "
          + snapshotEveryEntries);
    }
    if (proposalsInFlightMax < 1 || proposalsInFlightMax > 64) {
      throw SynodException.invalid("proposals_in_flight_max", "must be 1 to 64; got "
          + proposalsInFlightMax);
    }
    if (retainedFinishedMax < 1) {
      throw SynodException.invalid("retained_finished_max", "must be at least 1; got "
          + retainedFinishedMax);
    }
    if (retention.isNegative() || retention.isZero()) {
      throw SynodException.invalid("retention", "must be positive; got " + retention);
    }
  }

  /** A single-replica group on local disk: the default deployment. */
  public static LogConfig singleNode(String clusterId, Path storageDir, int raftPort) {
    return new LogConfig(clusterId, "n1", Map.of("n1", "127.0.0.1:" + raftPort), storageDir,
        DEFAULT_SNAPSHOT_EVERY_ENTRIES, DEFAULT_RETENTION, DEFAULT_RETAINED_FINISHED_MAX,
        DEFAULT_PROPOSALS_IN_FLIGHT_MAX, Duration.ofSeconds(10), LockTable.Limits.DEFAULTS,
        SagaStateMachine.Limits.DEFAULTS, EventStateMachine.Limits.DEFAULTS);
  }

  /**
   * A loopback port free right now, for embedded logs that nobody else dials (the demo,
   * benchmarks, tests). It lies below the kernel's ephemeral range, so no server started meanwhile
   * on port 0 can be given it, and no port is handed out twice in a process ({@link FreePorts}).
   * A server with peers should use configured ports.
   */
  public static int freeLoopbackPort() {
    return FreePorts.loopback();
  }

  /** One replica of a three- or five-replica group; every replica gets the same peers. */
  public static LogConfig cluster(String clusterId, String selfId, Map<String, String> peers,
      Path storageDir) {
    return new LogConfig(clusterId, selfId, peers, storageDir, DEFAULT_SNAPSHOT_EVERY_ENTRIES,
        DEFAULT_RETENTION, DEFAULT_RETAINED_FINISHED_MAX, DEFAULT_PROPOSALS_IN_FLIGHT_MAX,
        Duration.ofSeconds(10), LockTable.Limits.DEFAULTS, SagaStateMachine.Limits.DEFAULTS,
        EventStateMachine.Limits.DEFAULTS);
  }

  public LogConfig withSnapshotEveryEntries(long entries) {
    return new LogConfig(clusterId, selfId, peers, storageDir, entries, retention,
        retainedFinishedMax, proposalsInFlightMax, proposalTimeout, lockLimits, sagaLimits,
        eventLimits);
  }

  public LogConfig withLockLimits(LockTable.Limits limits) {
    return new LogConfig(clusterId, selfId, peers, storageDir, snapshotEveryEntries, retention,
        retainedFinishedMax, proposalsInFlightMax, proposalTimeout, limits, sagaLimits,
        eventLimits);
  }

  public LogConfig withSagaLimits(SagaStateMachine.Limits limits) {
    return new LogConfig(clusterId, selfId, peers, storageDir, snapshotEveryEntries, retention,
        retainedFinishedMax, proposalsInFlightMax, proposalTimeout, lockLimits, limits,
        eventLimits);
  }

  public LogConfig withEventLimits(EventStateMachine.Limits limits) {
    return new LogConfig(clusterId, selfId, peers, storageDir, snapshotEveryEntries, retention,
        retainedFinishedMax, proposalsInFlightMax, proposalTimeout, lockLimits, sagaLimits,
        limits);
  }
}
