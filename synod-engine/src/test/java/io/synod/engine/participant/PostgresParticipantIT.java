package io.synod.engine.participant;

import io.synod.api.spi.Participant;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.BeforeAll;

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
}
