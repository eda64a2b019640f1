package io.synod.engine.participant;

import io.synod.api.spi.Participant;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.SqlOperation;
import io.synod.api.spi.AbortReason;
import io.synod.api.spi.Vote;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PostgresParticipantIT extends ParticipantContract {
  private static TestDatabase db;

  @BeforeAll
  static void createDatabase() {
    db = TestPostgres.get().newDatabase();
  }

  @Override
  String storeName() {
    return "pg";
  }

  @Override
  Participant createParticipant(int maxPoolSize) {
    return PostgresParticipant.create(storeName(), db.url(), db.user(), db.password(), maxPoolSize);
  }

  @Override
  Connection connect() throws SQLException {
    return db.connect();
  }

  // The last operation travels with PREPARE TRANSACTION in one round trip: its text must not
  // change what the prepare does.

  @Test
  void operationEndingInSemicolonOrCommentStillPrepares() throws Exception {
    String gid = gid("tail");
    List<SqlOperation> ops =
        List.of(
            op("INSERT INTO accounts (id, owner) VALUES (?, ?) -- trailing comment", 1L, "a"),
            op("INSERT INTO accounts (id, owner) VALUES (?, ?);", 2L, "b"));

    assertThat(participant.prepare(gid, ops, TIMEOUT)).isEqualTo(Vote.commit());
    assertThat(participant.inDoubt(prefix)).containsExactly(gid);
    assertThat(count("id IN (1, 2)")).isZero();

    participant.commit(gid);
    assertThat(count("id IN (1, 2)")).isEqualTo(2);
  }

  @Test
  void unclosedCommentCannotSwallowThePrepare() throws Exception {
    String gid = gid("comment");
    Vote vote =
        participant.prepare(
            gid, List.of(op("INSERT INTO accounts (id) VALUES (?) /* open", 1L)), TIMEOUT);

    assertAbort(vote, AbortReason.INVALID_OPERATION, "operations[0]");
    assertNothingLeftOf(gid);
    assertThat(count("id = 1")).isZero();
  }

  @Test
  void operationThatEndsItsOwnTransactionVotesAbort() throws Exception {
    String gid = gid("control");
    Vote vote =
        participant.prepare(
            gid, List.of(op("UPDATE accounts SET note = ? WHERE id = 100; COMMIT", "x")), TIMEOUT);

    assertAbort(vote, AbortReason.INVALID_OPERATION, "operations[0]");
    assertThat(((Vote.Abort) vote).message()).contains("transaction control");
    assertThat(participant.inDoubt(prefix)).doesNotContain(gid);
  }
}
