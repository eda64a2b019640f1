package io.synod.engine.participant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.spi.Participant;
import io.synod.api.spi.ParticipantException;
import io.synod.api.spi.Vote;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestMariaDb;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MariaDbParticipantIT extends ParticipantContract {
  private static TestDatabase db;

  @BeforeAll
  static void createDatabase() {
    db = TestMariaDb.get().newDatabase();
  }

  @Override
  String storeName() {
    return "maria";
  }

  @Override
  Participant createParticipant(int maxPoolSize) {
    return MariaDbParticipant.create(storeName(), db.url(), db.user(), db.password(), maxPoolSize);
  }

  @Override
  Connection connect() throws SQLException {
    return db.connect();
  }

  /**
   * MariaDB answers XAER_NOTA ("unknown xid") to every session but the one holding a prepared
   * transaction; that must not pass for "resolved already".
   */
  @Test
  void transactionHeldByALiveSessionIsNotTakenForResolved() throws Exception {
    String gid = gid("held");
    Participant holder = open(2);
    Participant other = open(2);
    assertThat(holder.prepare(gid, List.of(insert(1)), TIMEOUT)).isEqualTo(Vote.commit());

    assertThatThrownBy(() -> other.rollback(gid))
        .isInstanceOf(ParticipantException.class)
        .hasMessageContaining("still bound to a live session");
    assertThat(other.inDoubt(prefix)).containsExactly(gid);

    holder.close(); // ends the session: the transaction is detached and anyone may resolve it
    other.commit(gid);
    assertThat(count("id = 1")).isOne();
    assertThat(other.inDoubt(prefix)).isEmpty();
  }
}
