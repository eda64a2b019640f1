package io.synod.engine;

import io.synod.api.SqlOperation;
import io.synod.api.spi.Participant;
import io.synod.api.spi.ParticipantException;
import io.synod.api.spi.Vote;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A participant whose behaviour a protocol test scripts: how it votes, how long it takes, whether
 * commit fails for a while. It keeps prepared and committed gids in memory like a store would.
 * For coordinator protocol tests only; store behaviour is tested against the real stores.
 */
final class ScriptedParticipant implements Participant {
  private final String name;
  final Set<String> prepared = ConcurrentHashMap.newKeySet();
  final Set<String> committed = ConcurrentHashMap.newKeySet();
  final Set<String> rolledBack = ConcurrentHashMap.newKeySet();
  final AtomicInteger prepareCalls = new AtomicInteger();
  final AtomicInteger commitFailuresLeft = new AtomicInteger();
  volatile Duration prepareDelay = Duration.ZERO;
  volatile Function<List<SqlOperation>, Vote> voter = ops -> Vote.commit();

  ScriptedParticipant(String name) {
    this.name = name;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Vote prepare(String gid, List<SqlOperation> operations, Duration timeout) {
    prepareCalls.incrementAndGet();
    sleep(prepareDelay);
    Vote vote = voter.apply(operations);
    if (vote instanceof Vote.Commit) {
      prepared.add(gid);
    }
    return vote;
  }

  @Override
  public void commit(String gid) throws ParticipantException {
    if (commitFailuresLeft.getAndDecrement() > 0) {
      throw new ParticipantException("store '" + name + "' unreachable (scripted)", null);
    }
    if (prepared.remove(gid)) {
      committed.add(gid);
    }
  }

  @Override
  public void rollback(String gid) {
    if (prepared.remove(gid)) {
      rolledBack.add(gid);
    }
  }

  @Override
  public List<String> inDoubt(String gidPrefix) {
    List<String> result = new ArrayList<>();
    for (String gid : prepared) {
      if (gid.startsWith(gidPrefix)) {
        result.add(gid);
      }
    }
    return result;
  }

  @Override
  public void close() {}

  private static void sleep(Duration d) {
    if (!d.isZero()) {
      try {
        Thread.sleep(d.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
