package io.synod.core.lock;

import static io.synod.api.lock.LockMode.IS;
import static io.synod.api.lock.LockMode.IX;
import static io.synod.api.lock.LockMode.S;
import static io.synod.api.lock.LockMode.X;
import static io.synod.core.lock.LockTableHarness.only;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.lock.LockMode;
import io.synod.core.lock.LockEffect.Refused.Reason;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LockTableTest {
  private final LockTableHarness h = new LockTableHarness();

  private void openAll(String... sessionIds) {
    for (String id : sessionIds) {
      h.open(id);
      h.nowMs++; // distinct ages: later sessions are younger
    }
  }

  @Test
  void theCompatibilityMatrixDecidesImmediateGrants() {
    for (LockMode held : LockMode.values()) {
      for (LockMode asked : LockMode.values()) {
        LockTableHarness t = new LockTableHarness();
        t.open("s1");
        t.open("s2");
        only(t.acquire("r1", "s1", "db", held, 0), LockEffect.Granted.class);
        List<LockEffect> effects = t.acquire("r2", "s2", "db", asked, 0);
        if (held.compatibleWith(asked)) {
          assertThat(only(effects, LockEffect.Granted.class).mode()).isEqualTo(asked);
        } else {
          assertThat(only(effects, LockEffect.Refused.class).reason())
              .as("%s then %s", held, asked).isEqualTo(Reason.WOULD_BLOCK);
        }
      }
    }
  }

  @Test
  void aWaitCompletedByAnAncestorLockReleasesTheIntentsItTookOnTheWay() {
    // Found by the properties: s2 waits for IX on a row (holding intents on db and db/t), then
    // for S on db; when both are freed at once, S on db (X, with its intent) is granted first and
    // covers the row, so the row's request completes without a lock there: its intent on db/t
    // serves nothing and must go.
    openAll("s1", "s2");
    h.acquire("r1", "s1", "db/t/row", X);
    only(h.acquire("r2", "s2", "db/t/row", IX), LockEffect.Queued.class);
    only(h.acquire("r3", "s2", "db", S), LockEffect.Queued.class);

    List<LockEffect> effects = h.close("s1"); // the harness checks the invariants after it

    assertThat(effects).filteredOn(LockEffect.Granted.class::isInstance)
        .extracting(e -> ((LockEffect.Granted) e).requestId()).containsExactly("r3", "r2");
    assertThat(h.modeOf("s2", "db")).isEqualTo(X);
    assertThat(h.modeOf("s2", "db/t")).isNull();
    assertThat(h.modeOf("s2", "db/t/row")).isNull();
  }

  @Test
  void waitersAreGrantedInFifoOrder() {
    openAll("s1", "s2", "s3", "s4");
    h.acquire("r1", "s1", "db", X);
    assertThat(only(h.acquire("r2", "s2", "db", X), LockEffect.Queued.class).position()).isZero();
    assertThat(only(h.acquire("r3", "s3", "db", S), LockEffect.Queued.class).position()).isOne();
    h.acquire("r4", "s4", "db", S);

    List<LockEffect> afterFirst = h.release("s1", "db");
    assertThat(afterFirst).filteredOn(LockEffect.Granted.class::isInstance)
        .extracting(e -> ((LockEffect.Granted) e).requestId()).containsExactly("r2");
    List<LockEffect> afterSecond = h.release("s2", "db");
    assertThat(afterSecond).filteredOn(LockEffect.Granted.class::isInstance)
        .extracting(e -> ((LockEffect.Granted) e).requestId()).containsExactly("r3", "r4");
  }

  @Test
  void aCompatibleNewcomerQueuesBehindAnEarlierWaiter() {
    openAll("s1", "s2", "s3");
    h.acquire("r1", "s1", "db", S);
    h.acquire("r2", "s2", "db", X);
    List<LockEffect> effects = h.acquire("r3", "s3", "db", S);
    assertThat(only(effects, LockEffect.Queued.class).position()).isOne();
    assertThat(h.table.status(ResourcePath.parse("db")).waiters())
        .extracting(w -> w.sessionId()).containsExactly("s2", "s3");
  }

  @Test
  void aTryOnlyRequestThatWouldWaitIsRefusedAndChangesNothing() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "pg/accounts/42", X);
    long lastToken = h.table.lastToken();
    byte[] before = LockTableHarness.snapshot(h.table);

    List<LockEffect> effects = h.acquire("r2", "s2", "pg/accounts/42", X, 0);

    LockEffect.Refused refused = only(effects, LockEffect.Refused.class);
    assertThat(refused.reason()).isEqualTo(Reason.WOULD_BLOCK);
    assertThat(refused.message()).contains("pg/accounts/42", "s1 holds X");
    assertThat(h.table.session("s2").orElseThrow().heldCount()).isZero();
    assertThat(h.table.lastToken()).isEqualTo(lastToken);
    assertThat(h.table.waitingRequests()).isEmpty();
    // Only the answer for retries was added.
    assertThat(h.acquire("r2", "s2", "pg/accounts/42", X, 0)).containsExactly(refused);
    assertThat(before.length).isLessThan(LockTableHarness.snapshot(h.table).length);
  }

  @Test
  void withIntentsTakesTheIntentLocksTopDown() {
    openAll("s1");
    LockEffect.Granted granted =
        only(h.acquire("r1", "s1", "pg/accounts/42", X), LockEffect.Granted.class);

    assertThat(granted.resource()).isEqualTo("pg/accounts/42");
    assertThat(h.modeOf("s1", "pg")).isEqualTo(IX);
    assertThat(h.modeOf("s1", "pg/accounts")).isEqualTo(IX);
    assertThat(h.modeOf("s1", "pg/accounts/42")).isEqualTo(X);
    assertThat(h.tokenOf("s1", "pg")).isLessThan(h.tokenOf("s1", "pg/accounts"));
    assertThat(h.tokenOf("s1", "pg/accounts")).isLessThan(granted.token());
    assertThat(h.table.holds("s1", ResourcePath.parse("pg")).orElseThrow().implicit()).isTrue();
  }

  @Test
  void aReaderBelowGetsIntentSharedAbove() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "pg/accounts/1", S);
    assertThat(h.modeOf("s1", "pg/accounts")).isEqualTo(IS);
    // A writer of another row under the same table is compatible: IS and IX go together.
    only(h.acquire("r2", "s2", "pg/accounts/2", X, 0), LockEffect.Granted.class);
    // A table-wide reader is not: S conflicts with s2's IX on the table.
    assertThat(only(h.acquire("r3", "s1", "pg/accounts", S, 0), LockEffect.Refused.class)
        .reason()).isEqualTo(Reason.WOULD_BLOCK);
  }

  @Test
  void withoutIntentsAMissingAncestorIntentIsAFailedPrecondition() {
    openAll("s1");
    h.acquireWithoutIntents("r1", "s1", "pg", IS);

    LockEffect.Refused refused = only(
        h.acquireWithoutIntents("r2", "s1", "pg/accounts/42", X), LockEffect.Refused.class);

    assertThat(refused.reason()).isEqualTo(Reason.FAILED_PRECONDITION);
    assertThat(refused.message()).contains("ancestor pg ", "IX", "holds IS");
    assertThat(h.modeOf("s1", "pg/accounts/42")).isNull();
  }

  @Test
  void withoutIntentsIsGrantedWhenTheSessionHoldsCoveringIntents() {
    openAll("s1");
    h.acquireWithoutIntents("r1", "s1", "pg", X);
    h.acquireWithoutIntents("r2", "s1", "mysql", IX);
    h.acquireWithoutIntents("r3", "s1", "mysql/t", IX);

    // X on pg covers everything below: granted with pg's token, nothing new recorded.
    LockEffect.Granted covered =
        only(h.acquireWithoutIntents("r4", "s1", "pg/a/1", X), LockEffect.Granted.class);
    assertThat(covered.token()).isEqualTo(h.tokenOf("s1", "pg"));
    assertThat(h.modeOf("s1", "pg/a/1")).isNull();

    LockEffect.Granted row =
        only(h.acquireWithoutIntents("r5", "s1", "mysql/t/9", S), LockEffect.Granted.class);
    assertThat(row.mode()).isEqualTo(S);
    assertThat(h.table.holds("s1", ResourcePath.parse("mysql/t")).orElseThrow().implicit())
        .isFalse();
  }

  @Test
  void aCoveredReacquireReturnsTheExistingGrant() {
    openAll("s1");
    LockEffect.Granted first = only(h.acquire("r1", "s1", "db/t", X), LockEffect.Granted.class);
    LockEffect.Granted again = only(h.acquire("r2", "s1", "db/t", S), LockEffect.Granted.class);
    assertThat(again.token()).isEqualTo(first.token());
    assertThat(again.mode()).isEqualTo(X);
  }

  @Test
  void anUpgradeByTheSoleHolderIsGrantedAtOnceWithANewToken() {
    openAll("s1");
    long shared = only(h.acquire("r1", "s1", "db/t", S), LockEffect.Granted.class).token();
    LockEffect.Granted exclusive = only(h.acquire("r2", "s1", "db/t", X), LockEffect.Granted.class);
    assertThat(exclusive.mode()).isEqualTo(X);
    assertThat(exclusive.token()).isGreaterThan(shared);
    assertThat(h.modeOf("s1", "db")).isEqualTo(IX); // the intent above was raised too
  }

  @Test
  void sharedAskedOverIntentExclusiveBecomesExclusive() {
    openAll("s1");
    h.acquire("r1", "s1", "db/t", IX);
    assertThat(only(h.acquire("r2", "s1", "db/t", S), LockEffect.Granted.class).mode())
        .isEqualTo(X);
  }

  @Test
  void anUpgradeGoesAheadOfWaitingNewcomers() {
    openAll("s1", "s2", "s3");
    h.acquire("r1", "s1", "db", S);
    h.acquire("r2", "s2", "db", S);
    h.acquire("r3", "s3", "db", X);

    assertThat(only(h.acquire("r4", "s1", "db", X), LockEffect.Queued.class).position()).isZero();
    List<LockEffect> effects = h.release("s2", "db");

    assertThat(only(effects, LockEffect.Granted.class).requestId()).isEqualTo("r4");
    assertThat(h.table.waiters(ResourcePath.parse("db")))
        .extracting(LockTable.WaitingRequest::requestId).containsExactly("r3");
  }

  @Test
  void twoUpgradersDeadlockAndTheYoungerIsTheVictim() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "db", S);
    h.acquire("r2", "s2", "db", S);
    only(h.acquire("r3", "s1", "db", X), LockEffect.Queued.class);

    List<LockEffect> effects = h.acquire("r4", "s2", "db", X);

    LockEffect.DeadlockVictim victim = only(effects, LockEffect.DeadlockVictim.class);
    assertThat(victim.requestId()).isEqualTo("r4");
    assertThat(victim.cycle()).containsExactly("s2@db", "s1@db");
    assertThat(h.modeOf("s2", "db")).isEqualTo(S); // keeps its S; s1 waits for it
    assertThat(h.table.waitingRequests()).extracting(LockTable.WaitingRequest::requestId)
        .containsExactly("r3");
    assertThat(only(h.release("s2", "db"), LockEffect.Granted.class).requestId())
        .isEqualTo("r3");
  }

  @Test
  void aThreeSessionCycleAcrossResourcesLosesTheYoungest() {
    openAll("s1", "s2", "s3");
    h.acquire("a1", "s1", "db/a", X);
    h.acquire("b1", "s2", "db/b", X);
    h.acquire("c1", "s3", "db/c", X);
    h.acquire("a2", "s3", "db/a", X);
    h.acquire("b2", "s1", "db/b", X);

    List<LockEffect> effects = h.acquire("c2", "s2", "db/c", X);

    LockEffect.DeadlockVictim victim = only(effects, LockEffect.DeadlockVictim.class);
    assertThat(victim.sessionId()).isEqualTo("s3");
    assertThat(victim.requestId()).isEqualTo("a2");
    assertThat(victim.cycle()).containsExactly("s3@db/a", "s1@db/b", "s2@db/c");
    assertThat(h.table.waitingRequests()).extracting(LockTable.WaitingRequest::requestId)
        .containsExactly("b2", "c2");
  }

  @Test
  void amongEquallyOldSessionsTheOneHoldingFewestLocksIsTheVictim() {
    h.open("s1");
    h.open("s2"); // same ms: equally old
    h.acquire("a1", "s1", "db/a", X);
    h.acquire("a2", "s1", "db/x", X); // s1: db, db/a, db/x
    h.acquire("b1", "s2", "db/b", X); // s2: db, db/b
    h.acquire("w1", "s2", "db/a", X);

    LockEffect.DeadlockVictim victim =
        only(h.acquire("w2", "s1", "db/b", X), LockEffect.DeadlockVictim.class);

    assertThat(victim.sessionId()).isEqualTo("s2");
  }

  @Test
  void amongEquallyOldSessionsWithEqualLocksTheLowestPriorityIsTheVictim() {
    h.open("s1");
    h.open("s2");
    h.acquire("a1", "s1", "db/a", X);
    h.acquire("b1", "s2", "db/b", X);
    h.acquireWithPriority("w1", "s1", "db/b", X, 1);

    LockEffect.DeadlockVictim victim = only(
        h.acquireWithPriority("w2", "s2", "db/a", X, 7), LockEffect.DeadlockVictim.class);

    assertThat(victim.sessionId()).isEqualTo("s1");
    assertThat(victim.requestId()).isEqualTo("w1");
  }

  @Test
  void whenAllElseTiesTheLargestRequestIdIsTheVictim() {
    h.open("s1");
    h.open("s2");
    h.acquire("a1", "s1", "db/a", X);
    h.acquire("b1", "s2", "db/b", X);
    h.acquire("w9", "s1", "db/b", X);

    LockEffect.DeadlockVictim victim =
        only(h.acquire("w1", "s2", "db/a", X), LockEffect.DeadlockVictim.class);

    assertThat(victim.requestId()).isEqualTo("w9");
  }

  @Test
  void tickTimesOutDueWaitersAndWakesThoseBehind() {
    openAll("s1", "s2", "s3");
    h.acquire("r1", "s1", "db", S);
    h.acquire("r2", "s2", "db", X, 100);
    h.acquire("r3", "s3", "db", S, 1_000); // compatible with s1, but behind r2
    long deadline = h.table.waitingRequests().get(0).deadlineMs();

    h.nowMs = deadline - 1;
    assertThat(h.tick()).isEmpty();
    h.nowMs = deadline;
    List<LockEffect> effects = h.tick();

    assertThat(effects).containsExactly(
        new LockEffect.TimedOut("r2", "s2", "db"),
        new LockEffect.Granted("r3", "s3", "db", S, h.tokenOf("s3", "db")));
  }

  @Test
  void aFailedWaitReleasesTheIntentsItTook() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "pg/t", S);
    h.acquire("r2", "s2", "pg/t/7", X, 50); // IX on pg granted, IX on pg/t waits for s1's S
    assertThat(h.modeOf("s2", "pg")).isEqualTo(IX);

    h.nowMs += 50;
    assertThat(only(h.tick(), LockEffect.TimedOut.class).requestId()).isEqualTo("r2");

    assertThat(h.table.session("s2").orElseThrow().heldCount()).isZero();
  }

  @Test
  void leaseExpiryReleasesLocksAndWakesWaiters() {
    openAll("s1", "s2");
    long token = only(h.acquire("r1", "s1", "pg/a/1", X), LockEffect.Granted.class).token();
    h.acquire("r2", "s2", "pg/a/1", X);
    h.acquire("r3", "s1", "pg/b", X);
    h.acquire("r4", "s1", "pg/a/1/x", S); // waits? no: covered by X on pg/a/1
    long lastSeen = h.table.session("s1").orElseThrow().lastSeenMs();

    h.nowMs = lastSeen + LockTableHarness.LEASE_MS;
    List<LockEffect> effects = h.expire("s1", lastSeen);

    assertThat(effects).contains(
        new LockEffect.LockLost("s1", "pg/a/1", token,
            io.synod.api.lock.LockLost.Reason.LEASE_EXPIRED),
        new LockEffect.SessionExpired("s1"));
    assertThat(effects).filteredOn(LockEffect.LockLost.class::isInstance).hasSize(2);
    assertThat(only(effects, LockEffect.Granted.class).requestId()).isEqualTo("r2");
    assertThat(effects.indexOf(new LockEffect.SessionExpired("s1")))
        .isLessThan(effects.indexOf(only(effects, LockEffect.Granted.class)));
    assertThat(h.table.sessions()).containsExactly("s2");
  }

  @Test
  void expiryCancelsTheSessionsWaits() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "db", X);
    h.acquire("r2", "s2", "db", X);
    h.nowMs += LockTableHarness.LEASE_MS * 2;
    long lastSeen = h.table.session("s2").orElseThrow().lastSeenMs();

    List<LockEffect> effects = h.expire("s2", lastSeen);

    assertThat(effects).containsExactly(
        new LockEffect.Cancelled("r2", "s2", "db", LockEffect.Cancelled.Cause.SESSION_EXPIRED),
        new LockEffect.SessionExpired("s2"));
  }

  @Test
  void aStaleExpiryIsRefusedAfterANewerCheckpoint() {
    openAll("s1");
    long seenByProposer = h.table.session("s1").orElseThrow().lastSeenMs();
    h.nowMs += 20_000;
    h.checkpoint(Map.of("s1", h.nowMs, "unknown", h.nowMs));
    h.nowMs = seenByProposer + LockTableHarness.LEASE_MS + 1;

    LockEffect.Refused refused = only(h.expire("s1", seenByProposer), LockEffect.Refused.class);

    assertThat(refused.reason()).isEqualTo(Reason.FAILED_PRECONDITION);
    assertThat(refused.message()).contains("stale expiry");
    assertThat(h.table.sessions()).containsExactly("s1");
  }

  @Test
  void anExpiryBeforeTheLeaseLapsedIsRefused() {
    openAll("s1");
    long lastSeen = h.table.session("s1").orElseThrow().lastSeenMs();
    h.nowMs = lastSeen + LockTableHarness.LEASE_MS - 1;
    assertThat(only(h.expire("s1", lastSeen), LockEffect.Refused.class).message())
        .contains("has not lapsed");
  }

  @Test
  void aCheckpointNeverLowersLastSeen() {
    openAll("s1");
    h.checkpoint(Map.of("s1", 5_000L));
    h.checkpoint(Map.of("s1", 4_000L));
    assertThat(h.table.session("s1").orElseThrow().lastSeenMs()).isEqualTo(5_000L);
  }

  @Test
  void escalationReplacesRowLocksWithATableLock() {
    openAll("s1");
    for (int row = 1; row <= 5; row++) {
      assertThat(h.acquire("r" + row, "s1", "pg/t/" + row, X))
          .noneMatch(LockEffect.Escalated.class::isInstance);
    }
    List<LockEffect> effects = h.acquire("r6", "s1", "pg/t/6", X);

    LockEffect.Escalated escalated = only(effects, LockEffect.Escalated.class);
    assertThat(escalated.resource()).isEqualTo("pg/t");
    assertThat(escalated.mode()).isEqualTo(X);
    assertThat(escalated.releasedCount()).isEqualTo(6);
    assertThat(escalated.token()).isGreaterThan(only(effects, LockEffect.Granted.class).token());
    assertThat(h.table.session("s1").orElseThrow().held())
        .extracting(LockTable.HeldLock::resource, LockTable.HeldLock::mode)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("pg", IX),
            org.assertj.core.groups.Tuple.tuple("pg/t", X));
    // Later rows are covered by the table lock.
    assertThat(only(h.acquire("r7", "s1", "pg/t/7", X), LockEffect.Granted.class).token())
        .isEqualTo(escalated.token());
  }

  @Test
  void readsEscalateToShared() {
    openAll("s1");
    for (int row = 1; row <= 6; row++) {
      h.acquire("r" + row, "s1", "pg/t/" + row, S);
    }
    assertThat(h.modeOf("s1", "pg/t")).isEqualTo(S);
    assertThat(h.modeOf("s1", "pg")).isEqualTo(IS);
  }

  @Test
  void noEscalationWhileAnotherSessionsLockOnTheParentConflicts() {
    openAll("s1", "s2");
    h.acquire("other", "s2", "pg/t/99", S); // IS on pg/t: X there would conflict
    for (int row = 1; row <= 7; row++) {
      assertThat(h.acquire("r" + row, "s1", "pg/t/" + row, X))
          .noneMatch(LockEffect.Escalated.class::isInstance);
    }
    assertThat(h.modeOf("s1", "pg/t")).isEqualTo(IX);
    assertThat(h.table.session("s1").orElseThrow().heldCount()).isEqualTo(9);
    // Once s2 leaves, the next grant escalates.
    h.release("s2", "pg/t/99");
    assertThat(only(h.acquire("r8", "s1", "pg/t/8", X), LockEffect.Escalated.class)
        .releasedCount()).isEqualTo(8);
  }

  @Test
  void aRetriedRequestIdGetsTheSameAnswer() {
    openAll("s1", "s2");
    List<LockEffect> granted = h.acquire("r1", "s1", "db", X);
    long lastToken = h.table.lastToken();
    assertThat(h.acquire("r1", "s1", "db", X)).isEqualTo(granted);
    assertThat(h.table.lastToken()).isEqualTo(lastToken);

    LockEffect.Queued queued = only(h.acquire("r2", "s2", "db", S), LockEffect.Queued.class);
    assertThat(h.acquire("r2", "s2", "db", S)).containsExactly(queued);
    assertThat(h.table.waitingRequests()).hasSize(1);

    LockEffect.Refused other = only(h.acquire("r1", "s2", "db", S), LockEffect.Refused.class);
    assertThat(other.reason()).isEqualTo(Reason.INVALID_ARGUMENT);
    assertThat(other.message()).contains("requestId r1", "session s1");
  }

  @Test
  void releasingARowReleasesTheIntentsItNeededButNotOthers() {
    openAll("s1");
    long token = only(h.acquire("r1", "s1", "pg/t/1", X), LockEffect.Granted.class).token();
    h.acquire("r2", "s1", "pg/u/1", S);

    List<LockEffect> effects = h.release("s1", "pg/t/1");

    assertThat(effects).containsExactly(new LockEffect.Released("s1", "pg/t/1", token));
    assertThat(h.table.session("s1").orElseThrow().held())
        .extracting(LockTable.HeldLock::resource).containsExactly("pg", "pg/u", "pg/u/1");
    assertThat(h.release("s1", "pg/t/1")).isEmpty(); // twice does nothing
  }

  @Test
  void locksAreReleasedLeafToRoot() {
    openAll("s1");
    h.acquire("r1", "s1", "pg/t/1", X);
    h.acquire("r2", "s1", "pg/t", IX); // now asked for explicitly

    LockEffect.Refused refused = only(h.release("s1", "pg/t"), LockEffect.Refused.class);

    assertThat(refused.reason()).isEqualTo(Reason.FAILED_PRECONDITION);
    assertThat(refused.message()).contains("pg/t/1", "leaf to root");
    h.release("s1", "pg/t/1");
    assertThat(h.release("s1", "pg/t")).hasSize(1);
    assertThat(h.table.session("s1").orElseThrow().heldCount()).isZero();
  }

  @Test
  void releaseCancelsTheSessionsWaitForTheResource() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "db/t", X);
    h.acquire("r2", "s2", "db/t", X);

    assertThat(h.release("s2", "db/t")).containsExactly(
        new LockEffect.Cancelled("r2", "s2", "db/t", LockEffect.Cancelled.Cause.RELEASED));
    assertThat(h.table.session("s2").orElseThrow().heldCount()).isZero();
  }

  @Test
  void closingASessionReleasesItsLocksAndWakesWaiters() {
    openAll("s1", "s2", "s3");
    long token = only(h.acquire("r1", "s1", "db", X), LockEffect.Granted.class).token();
    h.acquire("r2", "s2", "db", X);
    h.acquire("r3", "s1", "other", X);
    h.acquire("r4", "s3", "other2", X);
    h.acquire("r5", "s1", "other2", S);

    List<LockEffect> effects = h.close("s1");

    assertThat(effects).startsWith(
        new LockEffect.Released("s1", "db", token),
        new LockEffect.Released("s1", "other", token + 1),
        new LockEffect.Cancelled("r5", "s1", "other2", LockEffect.Cancelled.Cause.SESSION_CLOSED),
        new LockEffect.SessionClosed("s1"));
    assertThat(only(effects, LockEffect.Granted.class).requestId()).isEqualTo("r2");
    assertThat(effects).noneMatch(LockEffect.LockLost.class::isInstance);
  }

  @Test
  void limitsAreRefusedByName() {
    LockTableHarness t = new LockTableHarness(LockTable.Limits.DEFAULTS.withSessionsMax(2)
        .withLocksPerSessionMax(2).withWaitersPerResourceMax(1));
    t.open("s1");
    t.open("s2");
    assertThat(only(t.open("s3"), LockEffect.Refused.class))
        .extracting(LockEffect.Refused::reason, r -> r.message().contains("sessionsMax"))
        .containsExactly(Reason.LIMIT, true);

    LockEffect.Refused tooMany =
        only(t.acquire("r1", "s1", "a/b/c", X), LockEffect.Refused.class);
    assertThat(tooMany.reason()).isEqualTo(Reason.LIMIT);
    assertThat(tooMany.message()).contains("locksPerSessionMax=2");
    assertThat(t.table.session("s1").orElseThrow().heldCount()).isZero();

    t.acquire("r2", "s1", "a", X);
    t.acquire("r3", "s2", "a", X);
    t.apply(new LockCommand.OpenSession("s2b", "o", 1_000, t.nowMs)); // refused: sessionsMax
    t.close("s2");
    t.open("s3");
    t.acquire("r4", "s3", "a", S);
    assertThat(t.table.waiters(ResourcePath.parse("a"))).hasSize(1);
  }

  @Test
  void aFullQueueRefusesTheNextWaiter() {
    LockTableHarness t = new LockTableHarness(
        LockTable.Limits.DEFAULTS.withWaitersPerResourceMax(1));
    t.open("s1");
    t.open("s2");
    t.open("s3");
    t.acquire("r1", "s1", "a", X);
    only(t.acquire("r2", "s2", "a", X), LockEffect.Queued.class);
    LockEffect.Refused refused = only(t.acquire("r3", "s3", "a", X), LockEffect.Refused.class);
    assertThat(refused.reason()).isEqualTo(Reason.LIMIT);
    assertThat(refused.message()).contains("waitersPerResourceMax=1", " a:");
  }

  @Test
  void theOldestAnswersAreForgottenBeyondTheBound() {
    LockTableHarness t = new LockTableHarness(
        LockTable.Limits.DEFAULTS.withAnsweredRequestsMax(2));
    t.open("s1");
    t.acquire("r1", "s1", "a", X);
    t.acquire("r2", "s1", "b", X);
    long r3Token = only(t.acquire("r3", "s1", "c", X), LockEffect.Granted.class).token();
    t.release("s1", "a");
    // r1 was forgotten: the retry is a new request and takes a new token.
    long before = t.table.lastToken();
    assertThat(only(t.acquire("r1", "s1", "a", X), LockEffect.Granted.class).token())
        .isGreaterThan(before);
    // r3 is remembered.
    assertThat(only(t.acquire("r3", "s1", "c", X), LockEffect.Granted.class).token())
        .isEqualTo(r3Token);
  }

  @Test
  void badInputIsRefusedAndChangesNothing() {
    openAll("s1");
    h.acquire("r0", "s1", "pg/t", S);
    byte[] before = LockTableHarness.snapshot(h.table);
    String deep = "a/".repeat(16) + "a";
    String longPath = "a".repeat(513);
    List<Object[]> cases = List.of(
        new Object[] {"", "must not be empty"},
        new Object[] {"/a", "empty segment"},
        new Object[] {"a//b", "empty segment"},
        new Object[] {"a/", "empty segment"},
        new Object[] {"a b", "whitespace"},
        new Object[] {"a\tb", "whitespace"},
        new Object[] {deep, "17 segments"},
        new Object[] {longPath, "513 characters"});
    for (Object[] c : cases) {
      LockEffect.Refused refused =
          only(h.acquire("bad", "s1", (String) c[0], X), LockEffect.Refused.class);
      assertThat(refused.reason()).isEqualTo(Reason.INVALID_ARGUMENT);
      assertThat(refused.message()).startsWith("resource: ").contains((String) c[1]);
    }
    assertThat(only(h.apply(new LockCommand.Acquire("bad", "s1", "a", X, -1, true, 0, h.nowMs)),
        LockEffect.Refused.class).message()).contains("timeoutMs");
    assertThat(only(h.acquire("bad", "nobody", "a", X), LockEffect.Refused.class).message())
        .contains("sessionId 'nobody'");
    assertThat(only(h.apply(new LockCommand.Acquire("bad", "s1", "a", null, 5, true, 0, h.nowMs)),
        LockEffect.Refused.class).message()).contains("mode");
    assertThat(only(h.apply(new LockCommand.Acquire(null, "s1", "a", X, 5, true, 0, h.nowMs)),
        LockEffect.Refused.class).message()).contains("requestId");
    assertThat(only(h.release("s1", "a//b"), LockEffect.Refused.class).reason())
        .isEqualTo(Reason.INVALID_ARGUMENT);
    assertThat(only(h.release("nobody", "a"), LockEffect.Refused.class).reason())
        .isEqualTo(Reason.INVALID_ARGUMENT);
    assertThat(only(h.close("nobody"), LockEffect.Refused.class).reason())
        .isEqualTo(Reason.INVALID_ARGUMENT);
    assertThat(only(h.apply(new LockCommand.OpenSession("s9", "o", 0, h.nowMs)),
        LockEffect.Refused.class).message()).contains("leaseMs");
    assertThat(only(h.apply(new LockCommand.OpenSession("s1", "another", 5, h.nowMs)),
        LockEffect.Refused.class).message()).contains("already open");

    assertThat(LockTableHarness.snapshot(h.table)).isEqualTo(before);
  }

  @Test
  void aSessionMayWaitOnceForATarget() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "db", X);
    h.acquire("r2", "s2", "db", S);
    LockEffect.Refused refused = only(h.acquire("r3", "s2", "db", X), LockEffect.Refused.class);
    assertThat(refused.reason()).isEqualTo(Reason.FAILED_PRECONDITION);
    assertThat(refused.message()).contains("already waits", "r2");
  }

  @Test
  void aWaiterBehindAnIntentStageContinuesDownWhenWoken() {
    openAll("s1", "s2");
    h.acquire("r1", "s1", "pg/t", X);
    only(h.acquire("r2", "s2", "pg/t/5", S), LockEffect.Queued.class);
    assertThat(h.table.waitingRequests().get(0))
        .extracting(LockTable.WaitingRequest::waitingAt, LockTable.WaitingRequest::waitingMode)
        .containsExactly("pg/t", IS);

    List<LockEffect> effects = h.release("s1", "pg/t");

    LockEffect.Granted granted = only(effects, LockEffect.Granted.class);
    assertThat(granted.resource()).isEqualTo("pg/t/5");
    assertThat(h.modeOf("s2", "pg/t")).isEqualTo(IS);
  }

  @Test
  void aSnapshotRestoresATableThatBehavesTheSame() {
    openAll("s1", "s2", "s3");
    h.acquire("r1", "s1", "pg/t/1", X);
    h.acquire("r2", "s2", "pg/t/1", S);
    h.acquire("r3", "s3", "pg/t", S);
    h.acquire("r4", "s3", "x", X, 0);
    byte[] bytes = LockTableHarness.snapshot(h.table);
    LockTable copy = LockTableHarness.restore(bytes, h.table.limits());

    assertThat(LockTableHarness.snapshot(copy)).isEqualTo(bytes);
    LockCommand release = new LockCommand.Release("s1", "pg/t/1", h.nowMs);
    assertThat(copy.apply(release)).isEqualTo(h.apply(release));
    assertThat(LockTableHarness.snapshot(copy)).isEqualTo(LockTableHarness.snapshot(h.table));
  }
}
