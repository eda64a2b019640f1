package io.synod.engine;

import io.synod.api.spi.Participant;
import io.synod.api.spi.ParticipantException;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import io.synod.core.txn.TxnRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finishes what no live run owns, from what the log says. A pass runs when this replica becomes
 * leader and every {@code recoveryInterval} while it is:
 *
 * <ol>
 *   <li>a barrier entry, so the applied state includes everything committed before the pass;
 *   <li>transactions decided but not complete, with no live run: the decision is sent to every
 *       participant until each acknowledges, then Complete is recorded;
 *   <li>every participant's in-doubt gids with our prefix and no live run: committed if the log
 *       decided commit, rolled back if it decided abort, and, if the log never saw the gid, an
 *       abort tombstone is recorded first and then it is rolled back.
 * </ol>
 *
 * A pass that fails part-way (a store down, leadership lost) is simply repeated by the next one.
 */
final class RecoveryDriver implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RecoveryDriver.class);

  private final Coordinator coordinator;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "synod-recovery");
        t.setDaemon(true);
        return t;
      });

  /** What one pass did, for logs and tests. */
  /** What one pass did; {@code leftInDoubt} counts gids held by live runs or not resolvable now. */
  record Pass(int finishedDecided, int resolvedInDoubt, int leftInDoubt) {
    boolean quiet() {
      return finishedDecided == 0 && resolvedInDoubt == 0 && leftInDoubt == 0;
    }
  }

  RecoveryDriver(Coordinator coordinator) {
    this.coordinator = coordinator;
  }

  void start() {
    long everyMs = coordinator.config().recoveryInterval().toMillis();
    scheduler.scheduleWithFixedDelay(this::passQuietly, 0, everyMs, TimeUnit.MILLISECONDS);
  }

  /** Asks for a pass now (for example on becoming leader). */
  void trigger() {
    scheduler.execute(this::passQuietly);
  }

  private void passQuietly() {
    try {
      if (coordinator.log().isLeaderReady()) {
        Pass pass = runPass();
        if (pass.finishedDecided() + pass.resolvedInDoubt() > 0) {
          LOG.info("recovery pass: {}", pass);
        }
      }
    } catch (Exception e) {
      LOG.warn("recovery pass incomplete, the next one retries: {}", e.toString());
    }
  }

  /**
   * One pass; synchronous. Passes never overlap: two passes resolving the same gid at once make
   * PostgreSQL answer "prepared transaction is busy" to one of them.
   */
  synchronized Pass runPass() throws Exception {
    coordinator.log().barrier().get(coordinator.logTimeout().toMillis(), TimeUnit.MILLISECONDS);
    int finished = finishDecided();
    int[] inDoubt = resolveInDoubt();
    return new Pass(finished, inDoubt[0], inDoubt[1]);
  }

  private int finishDecided() throws Exception {
    int count = 0;
    for (TxnRecord record : coordinator.log().read(sm -> sm.unfinished())) {
      if (!coordinator.isLive(record.txnKey())) {
        LOG.info("recovery: finishing {} ({}) at {}", record.coordinationId(), record.phase(),
            record.stores());
        resolveEverywhere(record.txnKey(), record.phase().isCommit(), record.stores());
        count++;
      }
    }
    return count;
  }

  private int[] resolveInDoubt() throws Exception {
    Map<String, List<Participant>> holders = new LinkedHashMap<>();
    String prefix = coordinator.gidPrefix();
    for (Participant participant : coordinator.participants()) {
      for (String gid : participant.inDoubt(prefix)) {
        holders.computeIfAbsent(gid, g -> new ArrayList<>()).add(participant);
      }
    }
    int resolved = 0;
    int skipped = 0;
    for (var entry : holders.entrySet()) {
      Optional<String> parsed = coordinator.keyOf(entry.getKey());
      if (parsed.isEmpty()) {
        LOG.warn("in-doubt {} has our prefix but no transaction key; leaving it alone", entry.getKey());
        continue;
      }
      String key = parsed.get();
      if (coordinator.isLive(key)) {
        skipped++;
        continue;
      }
      Optional<TxnRecord> record = coordinator.log().read(sm -> sm.byKey(key));
      LOG.info("recovery: in-doubt {} at {} belongs to {}", entry.getKey(),
          entry.getValue().stream().map(Participant::name).toList(),
          record.map(r -> r.coordinationId() + " (" + r.phase() + ")").orElse("no decision"));
      boolean commit;
      if (record.isEmpty()) {
        commit = decideAbort(key, "prepared in a store but never decided (presumed abort)")
            .phase().isCommit();
      } else {
        commit = record.get().phase().isCommit();
      }
      boolean all = true;
      for (Participant participant : entry.getValue()) {
        all &= resolveAt(participant, entry.getKey(), commit);
      }
      if (all) {
        complete(key);
        resolved++;
      } else {
        skipped++; // the next pass tries again
      }
    }
    return new int[] {resolved, skipped};
  }

  private TxnRecord decideAbort(String key, String why) throws Exception {
    TxnOutcome outcome = coordinator.log()
        .propose(TxnCommand.Decide.tombstone(key, why, coordinator.nowMs()))
        .get(coordinator.logTimeout().toMillis(), TimeUnit.MILLISECONDS);
    return outcome.record();
  }

  private void resolveEverywhere(String key, boolean commit, List<String> stores) throws Exception {
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (int i = 0; i < stores.size(); i++) {
      String store = stores.get(i);
      String gid = coordinator.gidOf(key, i);
      Participant participant = coordinator.participant(store);
      if (participant == null) {
        throw new IllegalStateException("transaction " + gid + " names store '" + store
            + "', which is no longer configured; configure it again to finish the transaction");
      }
      acks.add(coordinator.resolver().resolve(participant, gid, commit));
    }
    CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new))
        .get(coordinator.config().commitTimeout().toMillis(), TimeUnit.MILLISECONDS);
    complete(key);
  }

  /** Resolves one in-doubt gid at one store; false (logged) if the store could not do it now. */
  private static boolean resolveAt(Participant participant, String gid, boolean commit) {
    try {
      if (commit) {
        participant.commit(gid);
      } else {
        participant.rollback(gid);
      }
    } catch (ParticipantException | RuntimeException e) {
      LOG.warn("recovery could not {} in-doubt {} at store '{}' yet: {}",
          commit ? "commit" : "roll back", gid, participant.name(), e.getMessage());
      return false;
    }
    LOG.info("recovery {} in-doubt {} at store '{}'", commit ? "committed" : "rolled back", gid,
        participant.name());
    return true;
  }

  private void complete(String key) throws Exception {
    coordinator.log().propose(new TxnCommand.Complete(key, coordinator.nowMs()))
        .get(coordinator.logTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
