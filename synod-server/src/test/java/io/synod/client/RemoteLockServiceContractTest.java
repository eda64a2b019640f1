package io.synod.client;

import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.engine.lock.LockServiceContract;
import io.synod.server.LockTestServers;
import io.synod.server.SynodServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lock contract that the native and ZooKeeper backends pass, run against {@link
 * RemoteLockService}: every call over gRPC to a real server, whose remote sessions live on its
 * keepalives. All of the contract runs; none of it needs an in-process hook but {@link
 * #expireSession}, which silences the client's keepalives as a paused or cut-off client would be.
 */
class RemoteLockServiceContractTest extends LockServiceContract {
  @TempDir static Path dir;
  private static SynodServer server;
  private static RemoteLockService locks;

  @BeforeAll
  static void start() throws Exception {
    server = LockTestServers.single(dir);
    locks = RemoteLockService.connect(List.of(LockTestServers.grpc(server)));
  }

  @AfterAll
  static void stop() {
    if (locks != null) {
      locks.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected LockService service() {
    return locks;
  }

  @Override
  protected Duration lease() {
    return Duration.ofSeconds(2);
  }

  @Override
  protected void expireSession(LockSession session) {
    ((RemoteLockSession) session).stopKeepalives();
  }
}
