package io.synod.kv.idempotency;

import io.synod.engine.testing.TestDatabase;
import java.util.concurrent.atomic.AtomicInteger;

/** The contract on H2, a fresh in-memory database per test (kept until the JVM ends). */
class H2IdempotencyStoreIT extends JdbcIdempotencyStoreContract {
  private static final AtomicInteger DATABASES = new AtomicInteger();

  @Override
  TestDatabase newDatabase() {
    String name = "idempotency_" + DATABASES.incrementAndGet();
    return new TestDatabase(name, "jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1", "sa", "");
  }
}
