package io.synod.engine.lock;

import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The lock contract on synod's own backend: a single-node log on local disk. */
class NativeLockServiceTest extends LockServiceContract {
  @TempDir static Path dir;
  private static SynodNode node;

  @BeforeAll
  static void start() throws Exception {
    node = SynodNode.start(
        LogConfig.singleNode("locks", dir.resolve("log"), LogConfig.freeLoopbackPort()),
        CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS.withTick(Duration.ofMillis(50)), List.of());
    node.awaitLeadership(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @Override
  protected LockService service() {
    return node.locks();
  }

  @Override
  protected Duration lease() {
    return Duration.ofSeconds(2);
  }

  @Override
  protected void expireSession(LockSession session) {
    ((NativeLockSession) session).stopKeepalives();
  }
}
