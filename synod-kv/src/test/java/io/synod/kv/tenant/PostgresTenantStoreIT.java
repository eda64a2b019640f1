package io.synod.kv.tenant;

import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;

/** The contract on embedded PostgreSQL ({@link TestPostgres}), a fresh database per test. */
class PostgresTenantStoreIT extends TenantStoreContract {
  @Override
  TestDatabase newDatabase() {
    return TestPostgres.get().newDatabase();
  }
}
