package io.synod.engine;

import io.opentelemetry.api.OpenTelemetry;
import io.synod.api.CoordinationService;
import io.synod.api.event.ChoreographyService;
import io.synod.api.event.DurableEventBus;
import io.synod.api.lock.LockService;
import io.synod.api.saga.SagaService;
import io.synod.api.spi.Participant;
import io.synod.engine.event.EventConfig;
import io.synod.engine.event.EventServices;
import io.synod.engine.lock.LockConfig;
import io.synod.engine.lock.LockDriver;
import io.synod.engine.lock.NativeLockService;
import io.synod.engine.log.LogConfig;
import io.synod.engine.log.RatisLog;
import io.synod.engine.saga.SagaConfig;
import io.synod.engine.saga.SagaDriver;
import io.synod.engine.saga.store.LocalHandlers;
import io.synod.engine.saga.store.SagaStore;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One synod replica: its share of the coordinator log, the coordinator, the recovery driver, the
 * lock driver, the saga driver, and the durable event bus with its choreographed sagas.
 * Embedded use is one node with a single-replica log; a cluster is three or five nodes with the
 * same cluster id and peers. Participants are owned by the node and closed with it.
 */
public final class SynodNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SynodNode.class);

  private final RatisLog log;
  private final Coordinator coordinator;
  private final RecoveryDriver recovery;
  private final LockDriver lockDriver;
  private final NativeLockService locks;
  private final SagaDriver sagas;
  private final EventServices eventServices;
  private final List<Participant> participants;

  private SynodNode(Builder b) {
    this.participants = List.copyOf(b.participants);
    this.log = RatisLog.start(b.logConfig);
    InProcessEventBus events = new InProcessEventBus();
    this.coordinator = new Coordinator(log, b.logConfig.clusterId(), participants, b.config,
        events, System::currentTimeMillis, b.logConfig.proposalTimeout(), b.telemetry);
    this.recovery = new RecoveryDriver(coordinator);
    this.lockDriver = new LockDriver(log, b.lockConfig, events, System::currentTimeMillis);
    this.locks = new NativeLockService(List.of(lockDriver));
    this.sagas = new SagaDriver(log, b.sagaStores, b.localHandlers, b.sagaConfig,
        System::currentTimeMillis);
    this.eventServices = new EventServices(log, b.eventConfig, System::currentTimeMillis);
    log.onLeaderReady(recovery::trigger);
    recovery.start();
    lockDriver.start();
    sagas.start();
    eventServices.start();
  }

  /** Starts a node; it serves once its log replica is part of a group with a leader. */
  public static SynodNode start(LogConfig logConfig, CoordinatorConfig config,
      List<Participant> participants) {
    return builder(logConfig).coordinator(config).participants(participants).start();
  }

  /** Starts a node with lock service settings of its own. */
  public static SynodNode start(LogConfig logConfig, CoordinatorConfig config,
      LockConfig lockConfig, List<Participant> participants) {
    return builder(logConfig).coordinator(config).locks(lockConfig).participants(participants)
        .start();
  }

  /** Starts a node whose coordinator makes its spans through {@code telemetry}. */
  public static SynodNode start(LogConfig logConfig, CoordinatorConfig config,
      LockConfig lockConfig, List<Participant> participants, OpenTelemetry telemetry) {
    return builder(logConfig).coordinator(config).locks(lockConfig).participants(participants)
        .telemetry(telemetry).start();
  }

  /** A node with everything configurable: defaults for what is not set. */
  public static Builder builder(LogConfig logConfig) {
    return new Builder(logConfig);
  }

  /** Settings of a node; {@link #start} starts it. */
  public static final class Builder {
    private final LogConfig logConfig;
    private CoordinatorConfig config = CoordinatorConfig.DEFAULTS;
    private LockConfig lockConfig = LockConfig.DEFAULTS;
    private SagaConfig sagaConfig = SagaConfig.DEFAULTS;
    private EventConfig eventConfig = EventConfig.DEFAULTS;
    private List<Participant> participants = List.of();
    private List<SagaStore> sagaStores = List.of();
    private LocalHandlers localHandlers = new LocalHandlers();
    private OpenTelemetry telemetry = OpenTelemetry.noop();

    private Builder(LogConfig logConfig) {
      this.logConfig = Objects.requireNonNull(logConfig, "logConfig");
    }

    public Builder coordinator(CoordinatorConfig value) {
      this.config = Objects.requireNonNull(value, "config");
      return this;
    }

    public Builder locks(LockConfig value) {
      this.lockConfig = Objects.requireNonNull(value, "lockConfig");
      return this;
    }

    public Builder sagas(SagaConfig value) {
      this.sagaConfig = Objects.requireNonNull(value, "sagaConfig");
      return this;
    }

    /** How the durable event bus delivers and choreographed sagas keep time. */
    public Builder eventLog(EventConfig value) {
      this.eventConfig = Objects.requireNonNull(value, "eventConfig");
      return this;
    }

    /** The stores of atomic commit; the node owns and closes them. */
    public Builder participants(List<Participant> value) {
      this.participants = List.copyOf(value);
      return this;
    }

    /** The stores saga steps run in (SQL, Redis); the node owns and closes them. */
    public Builder sagaStores(List<SagaStore> value) {
      this.sagaStores = List.copyOf(value);
      return this;
    }

    /** The application's in-process saga steps, by name. */
    public Builder localHandlers(LocalHandlers value) {
      this.localHandlers = Objects.requireNonNull(value, "localHandlers");
      return this;
    }

    public Builder telemetry(OpenTelemetry value) {
      this.telemetry = Objects.requireNonNull(value, "telemetry");
      return this;
    }

    public SynodNode start() {
      return new SynodNode(this);
    }
  }

  /** The coordination API of this node. */
  public CoordinationService coordination() {
    return coordinator;
  }

  /**
   * The lock service through this node: it proposes here while this node leads. For a cluster in
   * one JVM, a {@link NativeLockService} over every node's {@link #lockDriver} follows the leader.
   */
  public LockService locks() {
    return locks;
  }

  /** Orchestrated sagas through this node: started and driven while it leads. */
  public SagaService sagas() {
    return sagas;
  }

  /**
   * The durable event bus on the log. Publishing needs this node to lead; subscribers here get
   * every event this replica applies (a consumer group subscribes on one node).
   */
  public DurableEventBus eventLog() {
    return eventServices.bus();
  }

  /** Choreographed sagas over {@link #eventLog()}: started and timed out while this node leads. */
  public ChoreographyService choreography() {
    return eventServices.choreography();
  }

  /** This node's lock driver, to build a lock service that follows the leader across nodes. */
  public LockDriver lockDriver() {
    return lockDriver;
  }

  /** Waits until this node leads a ready group, for single-node deployments and tests. */
  public SynodNode awaitLeadership(long timeout, TimeUnit unit) throws TimeoutException {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    while (!log.isLeaderReady()) {
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("replica " + log.selfId() + " did not become leader within "
            + timeout + " " + unit);
      }
      sleepBriefly();
    }
    return this;
  }

  public boolean isLeader() {
    return log.isLeaderReady();
  }

  public String id() {
    return log.selfId();
  }

  /**
   * Runs a recovery pass now and waits for it. Returns true if the pass found nothing to do: no
   * decided transaction unfinished, no in-doubt transaction in any store.
   */
  public boolean recoverNow() throws Exception {
    return recovery.runPass().quiet();
  }

  /** How many log entries this node proposed, and how many commands they carried. */
  public RatisLog.Stats logStats() {
    return log.stats();
  }

  /** Members, leader, term and indexes of the group, as this node sees them. */
  public RatisLog.GroupInfo groupInfo() {
    return log.groupInfo();
  }

  /** Where this node's coordinator publishes its events (and the lock service its deadlocks). */
  public io.synod.api.EventBus events() {
    return coordinator.events();
  }

  RatisLog log() {
    return log;
  }

  @Override
  public void close() {
    eventServices.close();
    sagas.close();
    locks.close();
    lockDriver.close();
    recovery.close();
    coordinator.close();
    log.close();
    for (Participant participant : participants) {
      try {
        participant.close();
      } catch (RuntimeException e) {
        LOG.warn("closing store '{}' failed", participant.name(), e);
      }
    }
  }

  private static void sleepBriefly() {
    try {
      Thread.sleep(20);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for leadership", e);
    }
  }
}
