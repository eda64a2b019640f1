package io.synod.core.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;

/**
 * Random interleavings of a few sessions over a small hierarchy, with the table's and the tests'
 * own checks after every command. Small limits (3 of the 4 sessions, escalation beyond 1
 * child, 2 waiters per resource, 6 locks per session, 20 answers) so that every bound is
 * reached often.
 */
class LockTablePropertiesTest {
  static final List<String> SESSIONS = List.of("s1", "s2", "s3", "s4");
  static final List<String> RESOURCES = List.of(
      "a", "a/1", "a/2", "a/3", "a/1/x", "a/1/y", "a/1/z", "b", "b/1", "b/2", "b/3");
  static final long LEASE_MS = 100;
  static final long[] TIMEOUTS_MS = {0, 30, 200, 5_000};
  static final LockTable.Limits LIMITS = LockTable.Limits.DEFAULTS.withSessionsMax(3)
      .withEscalationThreshold(1).withWaitersPerResourceMax(2).withLocksPerSessionMax(6)
      .withAnsweredRequestsMax(20);

  enum Kind { OPEN, CLOSE, ACQUIRE, RELEASE, TICK, CHECKPOINT, EXPIRE }

  /** An action before it meets the table: the command it becomes depends on the state. */
  record Action(Kind kind, int session, int resource, LockMode mode, int timeout,
      boolean withIntents, int priority, int dtMs, int variant) {}

  @Property(tries = 250)
  void everyCommandKeepsTheInvariants(@ForAll("histories") List<Action> actions)
      throws IOException {
    LockTable table = new LockTable(LIMITS);
    History history = new History();
    for (Action action : actions) {
      LockCommand command = history.command(action, table);
      assertThat(LockCodecTest.roundTrip(command)).isEqualTo(command);
      for (LockEffect effect : history.applyChecked(table, command)) {
        Statistics.label("effect").collect(effect instanceof LockEffect.Refused r
            ? "Refused " + r.reason() : effect.getClass().getSimpleName());
      }
    }
    // The histories must reach every outcome that matters, not only the easy ones.
    Statistics.label("effect").coverage(coverage -> {
      for (String outcome : List.of("Granted", "Queued", "TimedOut", "DeadlockVictim",
          "Cancelled", "Released", "LockLost", "Escalated", "SessionExpired", "Refused LIMIT",
          "Refused WOULD_BLOCK", "Refused FAILED_PRECONDITION", "Refused INVALID_ARGUMENT")) {
        coverage.check(outcome).count(n -> n >= 10);
      }
    });
  }


  @Property(tries = 150)
  void aRestoredSnapshotProducesTheSameFutureEffects(
      @ForAll("histories") List<Action> actions, @ForAll @IntRange(max = 80) int cut) {
    LockTable table = new LockTable(LIMITS);
    History history = new History();
    int split = Math.min(cut, actions.size());
    for (Action action : actions.subList(0, split)) {
      history.applyChecked(table, history.command(action, table));
    }
    byte[] snapshot = LockTableHarness.snapshot(table);
    LockTable restored = LockTableHarness.restore(snapshot, LIMITS);
    assertThat(LockTableHarness.snapshot(restored)).isEqualTo(snapshot);
    for (Action action : actions.subList(split, actions.size())) {
      LockCommand command = history.command(action, table);
      List<LockEffect> expected = history.applyChecked(table, command);
      assertThat(restored.apply(command)).as("after %s", command).isEqualTo(expected);
    }
    assertThat(LockTableHarness.snapshot(restored)).isEqualTo(LockTableHarness.snapshot(table));
  }

  /** Turns actions into commands and checks each command's effects against the state. */
  static final class History {
    long nowMs = 1_000;
    int nextRequest = 1;
    final List<String> requestIds = new ArrayList<>();
    long maxToken;
    final Map<String, LockEffect.Granted> grants = new HashMap<>();

    LockCommand command(Action a, LockTable table) {
      nowMs += a.dtMs();
      String session = SESSIONS.get(a.session());
      return switch (a.kind()) {
        case OPEN -> new LockCommand.OpenSession(session, "owner-" + session, LEASE_MS, nowMs);
        case CLOSE -> new LockCommand.CloseSession(session, nowMs);
        case ACQUIRE -> new LockCommand.Acquire(requestId(a), session,
            RESOURCES.get(a.resource()), a.mode(), TIMEOUTS_MS[a.timeout()], a.withIntents(),
            a.priority(), nowMs);
        case RELEASE -> new LockCommand.Release(session, RESOURCES.get(a.resource()), nowMs);
        case TICK -> new LockCommand.Tick(nowMs);
        case CHECKPOINT -> {
          Map<String, Long> seen = new TreeMap<>();
          List<String> open = table.sessions();
          for (int i = 0; i < open.size(); i++) {
            if (((a.resource() >> i) & 1) == 1) {
              seen.put(open.get(i), nowMs - a.variant());
            }
          }
          yield new LockCommand.LeaseCheckpoint(seen, nowMs);
        }
        case EXPIRE -> {
          long seen = table.session(session).map(LockTable.SessionView::lastSeenMs).orElse(0L);
          yield new LockCommand.ExpireSession(session, a.variant() == 0 ? seen - 1 : seen, nowMs);
        }
      };
    }

    private String requestId(Action a) {
      if (a.variant() == 0 && !requestIds.isEmpty()) {
        return requestIds.get(a.resource() % requestIds.size()); // a retry
      }
      String id = "r" + nextRequest++;
      requestIds.add(id);
      return id;
    }

    List<LockEffect> applyChecked(LockTable table, LockCommand command) {
      Map<String, List<LockTable.WaitingRequest>> queuesBefore = queues(table);
      Map<String, Map<String, LockTable.HeldLock>> heldBefore = holdings(table);
      List<LockEffect> effects = table.apply(command);
      table.checkInvariants();
      assertNoIncompatibleHolders(table);
      assertNoWaitCycle(table);
      Map<String, List<LockTable.WaitingRequest>> queuesAfter = queues(table);
      Map<String, Map<String, LockTable.HeldLock>> heldAfter = holdings(table);
      assertFifo(queuesBefore, queuesAfter, effects);
      assertNoQueueJumping(queuesBefore, queuesAfter, heldBefore, heldAfter, effects);
      assertTokensIncrease(effects, heldBefore, heldAfter);
      assertThat(table.lastToken()).isGreaterThanOrEqualTo(maxToken);
      for (LockEffect effect : effects) {
        try {
          assertThat(LockCodecTest.roundTrip(effect)).isEqualTo(effect);
        } catch (IOException e) {
          throw new AssertionError(e);
        }
      }
      return effects;
    }

    private void assertTokensIncrease(List<LockEffect> effects,
        Map<String, Map<String, LockTable.HeldLock>> before,
        Map<String, Map<String, LockTable.HeldLock>> after) {
      for (LockEffect effect : effects) {
        if (effect instanceof LockEffect.Escalated e) {
          assertThat(e.token()).as("escalation token").isGreaterThan(maxToken);
          maxToken = e.token();
        } else if (effect instanceof LockEffect.Granted g) {
          LockEffect.Granted first = grants.putIfAbsent(g.requestId(), g);
          if (first != null && first.equals(g)) {
            continue; // a retry answered from memory
          }
          grants.put(g.requestId(), g);
          if (g.token() > maxToken) {
            maxToken = g.token();
          } else {
            assertThat(heldTokens(before, g).contains(g.token())
                    || heldTokens(after, g).contains(g.token()))
                .as("old token %d of %s is no covering lock's", g.token(), g).isTrue();
          }
        }
      }
    }

    /** Tokens of the session's locks on the granted resource and its ancestors. */
    private static Set<Long> heldTokens(
        Map<String, Map<String, LockTable.HeldLock>> held, LockEffect.Granted g) {
      Set<Long> tokens = new HashSet<>();
      Map<String, LockTable.HeldLock> locks = held.getOrDefault(g.sessionId(), Map.of());
      ResourcePath target = ResourcePath.parse(g.resource());
      List<ResourcePath> chain = new ArrayList<>(target.ancestors());
      chain.add(target);
      for (ResourcePath path : chain) {
        LockTable.HeldLock lock = locks.get(path.path());
        if (lock != null) {
          tokens.add(lock.token());
        }
      }
      return tokens;
    }
  }

  static Map<String, List<LockTable.WaitingRequest>> queues(LockTable table) {
    Map<String, List<LockTable.WaitingRequest>> queues = new TreeMap<>();
    for (String resource : table.resources()) {
      queues.put(resource, table.waiters(ResourcePath.parse(resource)));
    }
    return queues;
  }

  static Map<String, Map<String, LockTable.HeldLock>> holdings(LockTable table) {
    Map<String, Map<String, LockTable.HeldLock>> held = new HashMap<>();
    for (String id : table.sessions()) {
      Map<String, LockTable.HeldLock> locks = new HashMap<>();
      table.session(id).orElseThrow().held().forEach(l -> locks.put(l.resource(), l));
      held.put(id, locks);
    }
    return held;
  }

  static void assertNoIncompatibleHolders(LockTable table) {
    for (String resource : table.resources()) {
      List<LockStatus.Holder> holders = table.status(ResourcePath.parse(resource)).holders();
      for (int i = 0; i < holders.size(); i++) {
        for (int j = i + 1; j < holders.size(); j++) {
          assertThat(holders.get(i).mode().compatibleWith(holders.get(j).mode()))
              .as("%s and %s on %s", holders.get(i), holders.get(j), resource).isTrue();
        }
      }
    }
  }

  /**
   * The wait-for graph drawn from the queries, with an edge to every waiter ahead (which is at
   * least the edges to incompatible ones), has no cycle after any command.
   */
  static void assertNoWaitCycle(LockTable table) {
    Map<String, Set<String>> graph = new TreeMap<>();
    for (String resource : table.resources()) {
      ResourcePath path = ResourcePath.parse(resource);
      Map<String, LockMode> holders = new HashMap<>();
      table.status(path).holders().forEach(h -> holders.put(h.sessionId(), h.mode()));
      List<String> ahead = new ArrayList<>();
      for (LockTable.WaitingRequest w : table.waiters(path)) {
        Set<String> out = graph.computeIfAbsent(w.sessionId(), k -> new TreeSet<>());
        LockMode mode = LockModes.join(holders.get(w.sessionId()), w.waitingMode());
        holders.forEach((session, held) -> {
          if (!session.equals(w.sessionId()) && !mode.compatibleWith(held)) {
            out.add(session);
          }
        });
        ahead.stream().filter(s -> !s.equals(w.sessionId())).forEach(out::add);
        ahead.add(w.sessionId());
      }
    }
    Map<String, Integer> color = new HashMap<>();
    for (String node : graph.keySet()) {
      assertThat(reachesCycle(graph, node, color)).as("wait-for cycle in %s", graph).isFalse();
    }
  }

  private static boolean reachesCycle(
      Map<String, Set<String>> graph, String node, Map<String, Integer> color) {
    Integer c = color.get(node);
    if (c != null) {
      return c == 1;
    }
    color.put(node, 1);
    for (String next : graph.getOrDefault(node, Set.of())) {
      if (reachesCycle(graph, next, color)) {
        return true;
      }
    }
    color.put(node, 2);
    return false;
  }

  /**
   * Strict FIFO per resource: a request that left a queue without failing had nobody still
   * waiting ahead of it; those that stay keep their order; a newcomer that is not an upgrade
   * stands behind everyone who was there before.
   */
  static void assertFifo(Map<String, List<LockTable.WaitingRequest>> before,
      Map<String, List<LockTable.WaitingRequest>> after, List<LockEffect> effects) {
    Set<String> failed = new HashSet<>();
    for (LockEffect effect : effects) {
      switch (effect) {
        case LockEffect.TimedOut e -> failed.add(e.requestId());
        case LockEffect.DeadlockVictim e -> failed.add(e.requestId());
        case LockEffect.Cancelled e -> failed.add(e.requestId());
        case LockEffect.Refused e -> failed.add(e.requestId());
        default -> { }
      }
    }
    Set<String> resources = new TreeSet<>(before.keySet());
    resources.addAll(after.keySet());
    for (String resource : resources) {
      List<String> prev = ids(before.getOrDefault(resource, List.of()));
      List<LockTable.WaitingRequest> curQueue = after.getOrDefault(resource, List.of());
      List<String> cur = ids(curQueue);
      List<String> survivors = prev.stream().filter(cur::contains).toList();
      assertThat(cur.stream().filter(prev::contains).toList())
          .as("order kept at %s", resource).isEqualTo(survivors);
      for (int i = 0; i < prev.size(); i++) {
        if (!cur.contains(prev.get(i)) && !failed.contains(prev.get(i))) {
          for (int j = 0; j < i; j++) {
            assertThat(cur).as("%s advanced past %s at %s", prev.get(i), prev.get(j), resource)
                .doesNotContain(prev.get(j));
          }
        }
      }
      int lastSurvivor =
          survivors.isEmpty() ? -1 : cur.indexOf(survivors.get(survivors.size() - 1));
      for (int k = 0; k < curQueue.size(); k++) {
        LockTable.WaitingRequest w = curQueue.get(k);
        if (!prev.contains(w.requestId()) && !w.upgrade()) {
          assertThat(k).as("newcomer %s at %s", w.requestId(), resource)
              .isGreaterThan(lastSurvivor);
        }
      }
    }
  }

  /**
   * While requests that were queued at a resource before the command still wait there, nobody
   * else got a new lock on it: not a newcomer, and not an upgrade past an upgrade waiting ahead.
   * Exceptions are the requests that left that queue (checked by {@link #assertFifo}) and an
   * escalation, which only happens over the escalating session's own waiters.
   */
  static void assertNoQueueJumping(Map<String, List<LockTable.WaitingRequest>> queuesBefore,
      Map<String, List<LockTable.WaitingRequest>> queuesAfter,
      Map<String, Map<String, LockTable.HeldLock>> heldBefore,
      Map<String, Map<String, LockTable.HeldLock>> heldAfter, List<LockEffect> effects) {
    for (Map.Entry<String, List<LockTable.WaitingRequest>> entry : queuesBefore.entrySet()) {
      String resource = entry.getKey();
      List<String> stillThere = ids(queuesAfter.getOrDefault(resource, List.of()));
      List<LockTable.WaitingRequest> survivors =
          entry.getValue().stream().filter(w -> stillThere.contains(w.requestId())).toList();
      if (survivors.isEmpty()) {
        continue;
      }
      Set<String> advanced = new HashSet<>();
      entry.getValue().stream().filter(w -> !stillThere.contains(w.requestId()))
          .forEach(w -> advanced.add(w.sessionId()));
      heldAfter.forEach((session, locks) -> {
        LockTable.HeldLock now = locks.get(resource);
        LockTable.HeldLock before = heldBefore.getOrDefault(session, Map.of()).get(resource);
        if (now == null || (before != null && before.token() == now.token())
            || advanced.contains(session)) {
          return;
        }
        boolean escalated = effects.stream().anyMatch(e -> e instanceof LockEffect.Escalated x
            && x.sessionId().equals(session) && x.resource().equals(resource));
        if (escalated) {
          assertThat(survivors).as("escalation of %s at %s past others", session, resource)
              .allMatch(w -> w.sessionId().equals(session));
        } else {
          assertThat(before).as("%s got %s past waiters %s", session, now, survivors).isNotNull();
          assertThat(survivors).as("upgrade of %s at %s past an upgrade", session, resource)
              .noneMatch(LockTable.WaitingRequest::upgrade);
        }
      });
    }
  }

  private static List<String> ids(List<LockTable.WaitingRequest> queue) {
    return queue.stream().map(LockTable.WaitingRequest::requestId).toList();
  }

  @Provide
  Arbitrary<List<Action>> histories() {
    Arbitrary<Kind> kinds = Arbitraries.frequency(
        net.jqwik.api.Tuple.of(3, Kind.OPEN),
        net.jqwik.api.Tuple.of(1, Kind.CLOSE),
        net.jqwik.api.Tuple.of(20, Kind.ACQUIRE),
        net.jqwik.api.Tuple.of(7, Kind.RELEASE),
        net.jqwik.api.Tuple.of(4, Kind.TICK),
        net.jqwik.api.Tuple.of(2, Kind.CHECKPOINT),
        net.jqwik.api.Tuple.of(5, Kind.EXPIRE));
    Arbitrary<Action> action = Combinators.combine(
            kinds,
            Arbitraries.integers().between(0, SESSIONS.size() - 1),
            Arbitraries.integers().between(0, RESOURCES.size() - 1),
            Arbitraries.frequency(net.jqwik.api.Tuple.of(1, LockMode.IS),
                net.jqwik.api.Tuple.of(1, LockMode.IX), net.jqwik.api.Tuple.of(2, LockMode.S),
                net.jqwik.api.Tuple.of(2, LockMode.X)),
            Arbitraries.integers().between(0, TIMEOUTS_MS.length - 1),
            Arbitraries.frequency(
                net.jqwik.api.Tuple.of(5, true), net.jqwik.api.Tuple.of(1, false)),
            Arbitraries.integers().between(0, 2),
            Arbitraries.integers().between(0, 25))
        .flatAs((kind, session, resource, mode, timeout, intents, priority, dt) ->
            Arbitraries.integers().between(0, 9).map(variant -> new Action(
                kind, session, resource, mode, timeout, intents, priority, dt, variant)));
    List<Action> openAll = new ArrayList<>();
    for (int i = 0; i < SESSIONS.size(); i++) {
      openAll.add(new Action(Kind.OPEN, i, 0, LockMode.IS, 0, true, 0, 0, 9));
    }
    return action.list().ofMinSize(10).ofMaxSize(120).map(list -> {
      List<Action> history = new ArrayList<>(openAll);
      history.addAll(list);
      return history;
    });
  }
}
