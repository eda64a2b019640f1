package io.synod.engine.participant;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.spi.Participant;
import io.synod.api.spi.Vote;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on an H2 file database, one per test. The contract's crash is {@code SHUTDOWN
 * IMMEDIATELY}: the database closes without any cleanup, as when the process dies, and the prepared
 * transaction must come back in {@code INFORMATION_SCHEMA.IN_DOUBT} on reopen.
 */
class H2ParticipantIT extends ParticipantContract {
  @TempDir Path dir;

  private String url() {
    return "jdbc:h2:file:" + dir.resolve("store").toAbsolutePath();
  }

  @Override
  String storeName() {
    return "h2";
  }

  @Override
  Participant createParticipant(int maxPoolSize) {
    return H2Participant.create(storeName(), url(), "sa", "", maxPoolSize);
  }

  @Override
  Connection connect() throws SQLException {
    return DriverManager.getConnection(url(), "sa", "");
  }

  @Override
  void crash(Participant p) throws Exception {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      s.execute("SHUTDOWN IMMEDIATELY");
    }
    p.close();
  }

  /** Ending the preparing session leaves the transaction in doubt, the database staying open. */
  @Test
  void closedParticipantLeavesItsTransactionInDoubtWhileTheDatabaseStaysOpen() throws Exception {
    String gid = gid("open");
    try (Connection keepOpen = connect()) {
      Participant first = open(2);
      assertThat(first.prepare(gid, List.of(insert(1)), TIMEOUT)).isEqualTo(Vote.commit());
      first.close();

      Participant second = open(2);
      assertThat(second.inDoubt(prefix)).containsExactly(gid);
      second.rollback(gid);
      assertThat(second.inDoubt(prefix)).isEmpty();
      assertThat(count("id = 1")).isZero();
      second.rollback(gid);
    }
  }

  /** H2 upper-cases unquoted names; the gid must come back exactly as the coordinator wrote it. */
  @Test
  void inDoubtReturnsTheGidWithItsCase() throws Exception {
    String gid = gid("MixedCase-x");
    Participant first = open(2);
    assertThat(first.prepare(gid, List.of(insert(1)), TIMEOUT)).isEqualTo(Vote.commit());
    crash(first);

    Participant second = open(2);
    assertThat(second.inDoubt(prefix)).containsExactly(gid);
    second.commit(gid);
    assertThat(count("id = 1")).isOne();
  }
}
