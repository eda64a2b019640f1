package io.synod.engine.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreePortsTest {

  @Test
  void portsAreDistinctBindableAndClearOfTheEphemeralRange() throws Exception {
    Set<Integer> ports = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      int port = LogConfig.freeLoopbackPort();
      assertThat(ports.add(port)).as("port %d handed out twice", port).isTrue();
      assertThat(port).isBetween(10_000, FreePorts.ephemeralLow() - 1);
      try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        assertThat(socket.getLocalPort()).isEqualTo(port);
      }
    }
  }

  @Test
  void aPortTakenMeanwhileIsSkipped() throws Exception {
    int next = LogConfig.freeLoopbackPort() + 1;
    try (ServerSocket taken = new ServerSocket(next, 1, InetAddress.getLoopbackAddress())) {
      assertThat(LogConfig.freeLoopbackPort()).isNotEqualTo(next);
    }
  }
}
