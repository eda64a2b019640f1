package io.synod.engine.log;

import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.core.event.EventStateMachine;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import io.synod.core.lock.LockTable;
import io.synod.core.saga.SagaCommand;
import io.synod.core.saga.SagaEffect;
import io.synod.core.saga.SagaStateMachine;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import io.synod.core.txn.TxnStateMachine;
import io.synod.engine.Errors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.ExitUtils;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator log on Apache Ratis: one Raft group per cluster, one replica per node. A single
 * replica on local disk is the default deployment; three or five replicas tolerate one or two
 * failures. Proposals are submitted to the local Ratis server in-process (no RPC on the write
 * path) and packed into entries by a {@link ProposalBatcher}.
 */
public final class RatisLog implements CoordinatorLog {
  private static final Logger LOG = LoggerFactory.getLogger(RatisLog.class);
  /** Queued proposals beyond this are refused rather than piling up without bound. */
  private static final int QUEUED_PROPOSALS_MAX = 100_000;
  /** How long a lazy proposal may wait for company before it goes out alone. */
  private static final long LAZY_DELAY_MS = 20;
  /**
   * How long the next entry may wait for the callers the last one answered (ProposalBatcher):
   * about what it takes a few woken threads to come back on two busy cores. bench lock, 8 clients
   * over 1,000 locks on one node: ~4.8 to ~6.5 commands per entry, +30 % cycles/s.
   */
  private static final long LINGER_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

  private final LogConfig config;
  private final RaftGroup group;
  private final RaftServer server;
  private final RatisStateMachine stateMachine;
  private final ClientId clientId = ClientId.randomId();
  private final AtomicLong callIds = new AtomicLong();
  private final AtomicLong entriesSent = new AtomicLong();
  private final AtomicLong commandsSent = new AtomicLong();
  /** The group's replica to submit to, found on first use (see {@link #division()}). */
  private volatile RaftClientAsynchronousProtocol division;
  private final ProposalBatcher<LogCommand, LogCommand.Result> batcher;
  private volatile Runnable leaderReadyListener = () -> {};
  private final java.util.concurrent.ConcurrentMap<CompletableFuture<RaftClientReply>, Long>
      watchdog = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.ScheduledExecutorService watchdogTimer =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "synod-log-watchdog");
        t.setDaemon(true);
        return t;
      });

  private RatisLog(LogConfig config) throws IOException {
    this.config = config;
    this.group = groupOf(config);
    this.stateMachine = new RatisStateMachine(config.retention().toMillis(),
        config.retainedFinishedMax(), config.lockLimits(), config.sagaLimits(),
        config.eventLimits(), () -> leaderReadyListener.run());
    this.server = RaftServer.newBuilder()
        .setServerId(RaftPeerId.valueOf(config.selfId()))
        .setGroup(group)
        .setProperties(properties(config))
        .setStateMachine(stateMachine)
        .setOption(RaftStorage.StartupOption.RECOVER)
        .build();
    this.batcher = new ProposalBatcher<>(config.proposalsInFlightMax(), QUEUED_PROPOSALS_MAX,
        LAZY_DELAY_MS, LINGER_NANOS, this::send);
    watchdogTimer.scheduleWithFixedDelay(this::expireOverdue, 200, 200, TimeUnit.MILLISECONDS);
  }

  static {
    // Ratis 3.2 calls System.exit(1) when its gRPC server cannot bind the Raft address
    // (GrpcServicesImpl is the only caller of ExitUtils.terminate in ratis-server, -grpc and
    // -common): in library mode that would end the host application. With exits disabled it
    // throws instead, and start() reports the address. This is JVM-wide Ratis state.
    ExitUtils.disableSystemExit();
  }

  /**
   * Starts the local replica; it joins (or forms) the group named by the cluster id. A replica
   * that cannot start (its Raft address taken, its storage unusable) is closed again and the
   * error names the address and the storage directory.
   */
  public static RatisLog start(LogConfig config) {
    RatisLog log;
    try {
      log = new RatisLog(config);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the coordinator log in " + config.storageDir(), e);
    }
    try {
      log.server.start();
    } catch (IOException | RuntimeException e) {
      log.close();
      throw new IllegalStateException("cannot start coordinator log replica " + config.selfId()
          + " on Raft address " + config.peers().get(config.selfId()) + " (storage "
          + config.storageDir() + "): " + Errors.rootMessage(e), e);
    }
    LOG.info("coordinator log replica {} started: group {} peers {} storage {}",
        config.selfId(), log.group.getGroupId(), config.peers(), config.storageDir());
    return log;
  }

  static RaftGroup groupOf(LogConfig config) {
    UUID uuid = UUID.nameUUIDFromBytes(("synod:" + config.clusterId()).getBytes(StandardCharsets.UTF_8));
    List<RaftPeer> peers = new ArrayList<>();
    config.peers().forEach((id, address) ->
        peers.add(RaftPeer.newBuilder().setId(id).setAddress(address).build()));
    return RaftGroup.valueOf(RaftGroupId.valueOf(uuid), peers);
  }

  private static RaftProperties properties(LogConfig config) {
    RaftProperties props = new RaftProperties();
    RaftConfigKeys.Rpc.setType(props, SupportedRpcType.GRPC);
    String self = config.peers().get(config.selfId());
    int colon = self.lastIndexOf(':');
    GrpcConfigKeys.Server.setHost(props, self.substring(0, colon));
    GrpcConfigKeys.Server.setPort(props, Integer.parseInt(self.substring(colon + 1)));
    RaftServerConfigKeys.setStorageDir(props, List.of(config.storageDir().toFile()));
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(props, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(props, config.snapshotEveryEntries());
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(props, 2);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(props, true);
    // Ratis waits 10 ms between appendEntries calls by default: a floor under every replicated
    // write's latency in a cluster. Entries are batched by the ProposalBatcher already.
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(props, TimeDuration.ZERO);
    // Ratis also appends a metadata entry recording the commit index after commits, which costs
    // a write and a flush of its own (sequential entries: ~600 against ~850 us of CPU each). Raft
    // does not need the commit index on disk: a restarted leader commits its log anew.
    RaftServerConfigKeys.Log.setLogMetadataEnabled(props, false);
    RaftServerConfigKeys.Rpc.setTimeoutMin(props, TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(props, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setRequestTimeout(props,
        TimeDuration.valueOf(config.proposalTimeout().toMillis(), TimeUnit.MILLISECONDS));
    return props;
  }

  @Override
  public CompletableFuture<TxnOutcome> propose(TxnCommand command) {
    return batcher.submit(new LogCommand.Txn(command)).thenApply(RatisLog::txnOutcome);
  }

  @Override
  public CompletableFuture<TxnOutcome> proposeLazily(TxnCommand command) {
    return batcher.submitLazily(new LogCommand.Txn(command)).thenApply(RatisLog::txnOutcome);
  }

  @Override
  public CompletableFuture<List<LockEffect>> proposeLock(LockCommand command) {
    return batcher.submit(new LogCommand.Lock(command))
        .thenApply(result -> ((LogCommand.LockResult) result).effects());
  }

  @Override
  public CompletableFuture<List<SagaEffect>> proposeSaga(SagaCommand command) {
    return batcher.submit(new LogCommand.Saga(command))
        .thenApply(result -> ((LogCommand.SagaResult) result).effects());
  }

  @Override
  public CompletableFuture<List<EventEffect>> proposeEvent(EventCommand command) {
    return batcher.submit(new LogCommand.Events(command))
        .thenApply(result -> ((LogCommand.EventResult) result).effects());
  }

  private static TxnOutcome txnOutcome(LogCommand.Result result) {
    return ((LogCommand.TxnResult) result).outcome();
  }

  @Override
  public CompletableFuture<Void> barrier() {
    return send(List.of()).thenApply(outcomes -> null);
  }

  /** Entries this replica proposed and the commands they carried (batching shows as the ratio). */
  public record Stats(long entries, long commands) {}

  public Stats stats() {
    return new Stats(entriesSent.get(), commandsSent.get());
  }

  private CompletableFuture<List<LogCommand.Result>> send(List<LogCommand> commands) {
    entriesSent.incrementAndGet();
    commandsSent.addAndGet(commands.size());
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(clientId)
        .setServerId(server.getId())
        .setGroupId(group.getGroupId())
        .setCallId(callIds.incrementAndGet())
        .setMessage(Message.valueOf(
            org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations.unsafeWrap(
                LogEntries.encodeCommands(commands))))
        .setType(RaftClientRequest.writeRequestType())
        .build();
    try {
      CompletableFuture<RaftClientReply> reply = division().submitClientRequestAsync(request);
      watchdog.put(reply, System.nanoTime() + config.proposalTimeout().toNanos());
      reply.whenComplete((r, e) -> watchdog.remove(reply));
      return reply.thenApply(this::outcomesOf);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * The group's replica itself, to submit to. {@code RaftServer.submitClientRequestAsync} runs the
   * submission on Ratis's client executor and blocks the caller until it is done: two thread
   * hand-offs per entry to move a short append to the log worker's queue off a thread that then
   * waits for it anyway. The division does the same work on the caller's thread (bench lock, one
   * client on one node: ~580 to ~510 us of CPU per acquire+release).
   */
  private RaftClientAsynchronousProtocol division() throws IOException {
    RaftClientAsynchronousProtocol found = division;
    if (found == null) {
      found = server.getDivision(group.getGroupId()) instanceof RaftClientAsynchronousProtocol d
          ? d : server;
      division = found;
    }
    return found;
  }

  /**
   * Fails proposals that waited longer than the proposal timeout: one sweep a few times a second
   * instead of a timer task per entry (each of which wakes the JDK's delay scheduler).
   */
  private void expireOverdue() {
    long now = System.nanoTime();
    watchdog.forEach((reply, deadline) -> {
      if (now - deadline > 0) {
        reply.completeExceptionally(new java.util.concurrent.TimeoutException(
            "no commit of the entry within " + config.proposalTimeout()));
      }
    });
  }

  private List<LogCommand.Result> outcomesOf(RaftClientReply reply) {
    if (reply.getNotLeaderException() != null) {
      throw new NotLeaderException(config.selfId(), leaderId());
    }
    if (!reply.isSuccess()) {
      throw new IllegalStateException("coordinator log refused the entry: " + reply.getException(),
          reply.getException());
    }
    try {
      return LogEntries.decodeResults(reply.getMessage().getContent().newInput());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public <T> T read(Function<TxnStateMachine, T> query) {
    return stateMachine.read(query);
  }

  @Override
  public <T> T readLocks(Function<LockTable, T> query) {
    return stateMachine.readLocks(query);
  }

  @Override
  public void onLockEffects(Consumer<List<LockEffect>> listener) {
    stateMachine.onLockEffects(listener);
  }

  @Override
  public <T> T readSagas(Function<SagaStateMachine, T> query) {
    return stateMachine.readSagas(query);
  }

  @Override
  public void onSagaEffects(Consumer<List<SagaEffect>> listener) {
    stateMachine.onSagaEffects(listener);
  }

  @Override
  public <T> T readEvents(Function<EventStateMachine, T> query) {
    return stateMachine.readEvents(query);
  }

  @Override
  public void onEventEffects(Consumer<List<EventEffect>> listener) {
    stateMachine.onEventEffects(listener);
  }

  @Override
  public boolean isLeaderReady() {
    try {
      var info = server.getDivision(group.getGroupId()).getInfo();
      return info.isLeader() && info.isLeaderReady();
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public Optional<String> leaderId() {
    try {
      RaftPeerId leader = server.getDivision(group.getGroupId()).getInfo().getLeaderId();
      return Optional.ofNullable(leader).map(RaftPeerId::toString);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * What this replica knows of its group right now.
   *
   * @param leaderId empty while no leader is known to this replica
   * @param peers every member's id and Raft address, in configuration order
   */
  public record GroupInfo(String selfId, Optional<String> leaderId, long term, long commitIndex,
      long appliedIndex, Map<String, String> peers) {}

  public GroupInfo groupInfo() {
    try {
      var division = server.getDivision(group.getGroupId());
      var info = division.getInfo();
      return new GroupInfo(config.selfId(),
          Optional.ofNullable(info.getLeaderId()).map(RaftPeerId::toString),
          info.getCurrentTerm(), division.getRaftLog().getLastCommittedIndex(),
          info.getLastAppliedIndex(), config.peers());
    } catch (IOException e) {
      return new GroupInfo(config.selfId(), Optional.empty(), 0, -1, -1, config.peers());
    }
  }

  @Override
  public String selfId() {
    return config.selfId();
  }

  /** Called (on a Ratis thread) each time this replica becomes a leader ready to serve. */
  public void onLeaderReady(Runnable listener) {
    this.leaderReadyListener = listener;
  }

  @Override
  public void close() {
    batcher.close();
    watchdogTimer.shutdownNow();
    try {
      server.close();
    } catch (IOException e) {
      LOG.warn("closing coordinator log replica {} failed", config.selfId(), e);
    }
  }
}
