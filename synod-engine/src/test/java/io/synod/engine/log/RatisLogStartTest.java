package io.synod.engine.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RatisLogStartTest {
  @TempDir Path dir;

  @Test
  void aTakenRaftPortFailsTheStartAndLeavesTheJvmRunning() throws Exception {
    int port = LogConfig.freeLoopbackPort();
    try (ServerSocket taken = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      LogConfig config = LogConfig.singleNode("taken", dir.resolve("a"), port);

      // Ratis would call System.exit(1) here and end this test JVM; it must throw instead.
      assertThatThrownBy(() -> RatisLog.start(config))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("cannot start coordinator log replica")
          .hasMessageContaining(":" + port)
          .hasMessageContaining(dir.resolve("a").toString());
    }

    // Nothing of the failed replica is left holding the storage or the port.
    try (RatisLog log = LogTesting.started(LogConfig.singleNode("taken", dir.resolve("a"), port))) {
      assertThat(log.isLeaderReady()).isTrue();
    }
  }
}
