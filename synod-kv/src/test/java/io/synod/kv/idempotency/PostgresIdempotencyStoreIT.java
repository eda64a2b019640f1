package io.synod.kv.idempotency;

import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;

/** The contract on embedded PostgreSQL ({@link TestPostgres}), a fresh database per test. */
class PostgresIdempotencyStoreIT extends JdbcIdempotencyStoreContract {
  @Override
  TestDatabase newDatabase() {
    return TestPostgres.get().newDatabase();
  }
}
