package io.synod.engine.history;

import static io.synod.api.lock.LockMode.S;
import static io.synod.api.lock.LockMode.X;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.lock.LockMode;
import io.synod.engine.history.CheckResult.Verdict;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinearizabilityCheckerTest {
  private static final String R = "pg/accounts/42";
  private static final Operation.Result REFUSED = Operation.Result.REFUSED;
  private static final Operation.Result OK = Operation.Result.OK;
  private static final Operation.Result UNKNOWN = Operation.Result.UNKNOWN;

  private static Operation grant(String session, LockMode mode, long invoke, long ret, long token) {
    return grant(R, session, mode, invoke, ret, token);
  }

  private static Operation grant(String resource, String session, LockMode mode, long invoke,
      long ret, long token) {
    return Operation.acquire(client(session), resource, session, mode, invoke, ret,
        new Operation.Granted(token));
  }

  private static Operation acquire(String session, LockMode mode, long invoke, long ret,
      Operation.Result result) {
    return Operation.acquire(client(session), R, session, mode, invoke, ret, result);
  }

  private static Operation release(String session, long invoke, long ret, Operation.Result result) {
    return Operation.release(client(session), R, session, invoke, ret, result);
  }

  private static int client(String session) {
    return session.charAt(session.length() - 1) - '0';
  }

  private static CheckResult check(Operation... ops) {
    return new LinearizabilityChecker().check(List.of(ops));
  }

  private static CheckResult checkStrict(Operation... ops) {
    return new LinearizabilityChecker(
        LinearizabilityChecker.Config.defaults().withStrictRefusals(true)).check(List.of(ops));
  }

  @Test
  void aSequentialLegalHistoryIsLinearizable() {
    CheckResult result = check(
        grant("s1", X, 0, 10, 1),
        acquire("s2", X, 20, 30, REFUSED),
        release("s1", 40, 50, OK),
        grant("s2", X, 60, 70, 5),
        grant("s2", X, 80, 90, 5), // a re-acquire keeps the held token
        release("s2", 100, 110, OK),
        release("s2", 120, 130, OK), // releasing what is not held does nothing
        grant("s1", S, 140, 150, 9),
        grant("s3", S, 160, 170, 12));

    assertThat(result.linearizable()).isEqualTo(Verdict.TRUE);
    assertThat(result.summary()).isEqualTo("operations: 9, linearizable: true");
    assertThat(result.perResource()).containsEntry(R, Verdict.TRUE);
    assertThat(result.explanation()).isEmpty();
  }

  @Test
  void overlappingExclusiveGrantsLinearizeWhenTheReleaseFitsBetweenThem() {
    CheckResult result = check(
        grant("s1", X, 0, 10, 1),
        grant("s2", X, 5, 25, 2), // called while s1 held X, returned after s1 released
        release("s1", 11, 20, OK));

    assertThat(result.isLinearizable()).isTrue();
  }

  @Test
  void overlappingExclusiveGrantsFailWhenTheReleaseComesAfter() {
    CheckResult result = check(
        grant("s1", X, 0, 10, 1),
        grant("s2", X, 5, 25, 2),
        release("s1", 26, 30, OK));

    assertThat(result.linearizable()).isEqualTo(Verdict.FALSE);
    assertThat(result.summary()).isEqualTo("operations: 3, linearizable: false");
    assertThat(result.explanation())
        .contains("resource " + R + ": not linearizable")
        .contains("longest linearizable prefix found: 1 operations")
        .contains("c2 s2 ACQUIRE X " + R + " -> GRANTED(2)")
        .contains("X conflicts with s1");
  }

  @Test
  void twoExclusiveGrantsWithoutAReleaseBetweenAreNotLinearizable() {
    CheckResult result = check(
        grant("s1", X, 0, 10, 1),
        grant("s2", X, 20, 30, 2));

    assertThat(result.linearizable()).isEqualTo(Verdict.FALSE);
  }

  @Test
  void sharedGrantsOverlapButExclusiveWaitsForThemAll() {
    assertThat(check(
        grant("s1", S, 0, 10, 1),
        grant("s2", S, 5, 15, 2),
        grant("s3", S, 20, 30, 3)).isLinearizable()).isTrue();

    assertThat(check(
        grant("s1", S, 0, 10, 1),
        grant("s2", S, 5, 15, 2),
        release("s1", 20, 30, OK),
        grant("s3", X, 40, 50, 3)).linearizable()).isEqualTo(Verdict.FALSE);
  }

  @Test
  void aStaleTokenGrantedLaterIsNotLinearizable() {
    CheckResult result = check(
        grant("s1", X, 0, 10, 10),
        release("s1", 20, 30, OK),
        grant("s2", X, 40, 50, 5));

    assertThat(result.linearizable()).isEqualTo(Verdict.FALSE);
    assertThat(result.explanation())
        .contains("token 5 is not above the last token granted here (10)");
  }

  @Test
  void tokensAreOrderedPerResourceOnly() {
    CheckResult result = check(
        grant("pg/a", "s1", X, 0, 10, 10),
        grant("pg/b", "s2", X, 20, 30, 5));

    assertThat(result.isLinearizable()).isTrue();
    assertThat(result.perResource()).containsOnlyKeys("pg/a", "pg/b");
  }

  @Test
  void concurrentGrantsMustTakeTheirTokensInTheirOrder() {
    // Both S grants overlap, so either order is allowed: the one with the smaller token goes first.
    assertThat(check(
        grant("s1", S, 0, 20, 7),
        grant("s2", S, 5, 15, 3)).isLinearizable()).isTrue();
  }

  @Test
  void anUnknownReleaseTakesEffectWhenALaterGrantNeedsIt() {
    assertThat(check(
        grant("s1", X, 0, 10, 1),
        release("s1", 20, 30, UNKNOWN),
        grant("s2", X, 40, 50, 2)).isLinearizable()).isTrue();

    assertThat(check(
        grant("s1", X, 0, 10, 1),
        release("s1", 20, Operation.NEVER, UNKNOWN),
        grant("s2", X, 40, 50, 2)).isLinearizable()).isTrue();
  }

  @Test
  void anUnknownReleaseMayTakeEffectAfterItsClientGaveUp() {
    // The release's reply was lost at 30; the leader applied it at some point after 40.
    assertThat(check(
        grant("s1", X, 0, 10, 1),
        release("s1", 20, 30, UNKNOWN),
        acquire("s2", X, 35, 40, REFUSED),
        grant("s2", X, 45, 50, 2)).isLinearizable()).isTrue();
  }

  @Test
  void anUnknownAcquireThatCannotHaveHappenedIsLeftOut() {
    CheckResult result = check(
        grant("s1", X, 0, 10, 1),
        acquire("s2", X, 20, 30, UNKNOWN), // s1 holds X until the end: it cannot have been granted
        acquire("s3", S, 40, Operation.NEVER, UNKNOWN));

    assertThat(result.isLinearizable()).isTrue();
  }

  @Test
  void anUnknownAcquireTakesEffectWhenAStrictRefusalNeedsIt() {
    Operation unknown = acquire("s2", X, 0, 10, UNKNOWN);
    Operation refused = acquire("s3", S, 20, 30, REFUSED);

    assertThat(checkStrict(unknown, refused).isLinearizable()).isTrue();
    assertThat(checkStrict(refused).linearizable()).isEqualTo(Verdict.FALSE);
    assertThat(checkStrict(refused).explanation()).contains("refused, yet no other session held");
    assertThat(check(refused).isLinearizable()).isTrue();
  }

  @Test
  void anUnknownGrantKeepsItsTokenUnseen() {
    // s1's acquire took effect with a token the client never saw; its re-acquire shows it.
    assertThat(check(
        grant("s0", S, 0, 5, 3),
        acquire("s1", S, 10, 20, UNKNOWN),
        grant("s2", S, 30, 40, 9),
        grant("s1", S, 50, 60, 6)).isLinearizable()).isTrue();
  }

  @Test
  void anExpiryFreesTheSessionsLocks() {
    Operation held = grant("s1", X, 0, 10, 1);
    Operation next = grant("s2", X, 40, 50, 2);

    assertThat(check(held, Operation.expire(1, null, "s1", 20, 30, OK), next).isLinearizable())
        .isTrue();
    assertThat(check(held, Operation.expire(1, R, "s1", 20, 30, OK), next).isLinearizable())
        .isTrue();
    assertThat(check(held, Operation.expire(1, "pg/other", "s1", 20, 30, OK), next).linearizable())
        .isEqualTo(Verdict.FALSE);
    assertThat(check(held, Operation.expire(2, null, "s2", 20, 30, OK), next).linearizable())
        .isEqualTo(Verdict.FALSE);
  }

  @Test
  void eachResourceGetsItsOwnVerdict() {
    CheckResult result = check(
        grant("pg/a", "s1", X, 0, 10, 1),
        grant("pg/a", "s2", X, 20, 30, 2),
        grant("pg/b", "s1", X, 0, 10, 3));

    assertThat(result.linearizable()).isEqualTo(Verdict.FALSE);
    assertThat(result.perResource())
        .containsEntry("pg/a", Verdict.FALSE)
        .containsEntry("pg/b", Verdict.TRUE);
    assertThat(result.explanation()).contains("resource pg/a").doesNotContain("resource pg/b");
  }

  @Test
  void aSearchPastItsBoundIsUnknownNotTrue() {
    List<Operation> ops = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      ops.add(grant("s" + (i % 10), S, 0, 100, i + 1)); // all concurrent
    }
    LinearizabilityChecker.Config tiny =
        LinearizabilityChecker.Config.defaults().withMaxStatesVisited(5);

    CheckResult result = new LinearizabilityChecker(tiny).check(ops);

    assertThat(result.linearizable()).isEqualTo(Verdict.UNKNOWN);
    assertThat(result.explanation()).contains("search stopped after");
    assertThat(new LinearizabilityChecker().check(ops).isLinearizable()).isTrue();
  }

  @Test
  void anEmptyHistoryIsLinearizable() {
    assertThat(check().summary()).isEqualTo("operations: 0, linearizable: true");
  }
}
