package io.synod.engine.log;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Loopback ports that are free now and stay free until their owner binds them.
 *
 * <p>A port found by binding port 0 comes from the kernel's ephemeral range, the same range the
 * kernel draws from for every later port-0 listener and outgoing connection. Between choosing such
 * a port for one server and that server binding it, an HTTP server started meanwhile on port 0
 * could be given the very same port (seen in a three-node test: a node's HTTP port was the next
 * node's reserved Raft port, and that node could not start). So the ports handed out
 * here lie below the ephemeral range, where the kernel never assigns on its own, and each is handed
 * out once per process: they count up from a random start (so that processes started together
 * rarely meet) and are checked free by binding them.
 */
final class FreePorts {
  /** The lowest port handed out: clear of the well-known and commonly configured ports. */
  private static final int LOWEST = 10_000;
  private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
  /** IANA's dynamic range, where systems without the file above draw ephemeral ports. */
  private static final int IANA_EPHEMERAL_LOW = 49_152;
  private static final int ATTEMPTS = 1_000;

  private static final int HIGHEST = ephemeralLow() - 1;
  private static final AtomicInteger NEXT =
      new AtomicInteger(ThreadLocalRandom.current().nextInt(Math.max(1, HIGHEST - LOWEST + 1)));

  private FreePorts() {}

  static int loopback() {
    int span = HIGHEST - LOWEST + 1;
    if (span >= ATTEMPTS) {
      for (int i = 0; i < ATTEMPTS; i++) {
        int port = LOWEST + Math.floorMod(NEXT.getAndIncrement(), span);
        if (bindable(port)) {
          return port;
        }
      }
    }
    // No room below the ephemeral range on this machine, or all taken: let the kernel choose.
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The first port of the kernel's ephemeral range. */
  static int ephemeralLow() {
    // Read a line, not the whole file: Files.readString trusts the size /proc reports (0 here)
    // and returned "3" for "32768\t60999" on JDK 25.
    try (BufferedReader reader = Files.newBufferedReader(EPHEMERAL_RANGE)) {
      return Integer.parseInt(reader.readLine().trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return IANA_EPHEMERAL_LOW;
    }
  }
}
