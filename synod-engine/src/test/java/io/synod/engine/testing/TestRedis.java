package io.synod.engine.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;

/**
 * One Redis server per JVM, started on first use and stopped by a shutdown hook: the redis-server
 * 6.2 binary that the embedded-redis jar carries, on 127.0.0.1 and a free port, keeping nothing
 * on disk. Tests keep apart by their key names.
 */
public final class TestRedis {
  private static final Logger log = LoggerFactory.getLogger(TestRedis.class);
  private static TestRedis instance;

  private final RedisServer server;
  private final int port;

  private TestRedis(RedisServer server, int port) {
    this.server = server;
    this.port = port;
  }

  /** The JVM's server, started now if this is the first call. */
  public static synchronized TestRedis get() {
    if (instance == null) {
      instance = start();
      Runtime.getRuntime().addShutdownHook(new Thread(instance::stop, "test-redis-stop"));
    }
    return instance;
  }

  private static TestRedis start() {
    long startNs = System.nanoTime();
    try {
      int port = freePort();
      Path dir = Files.createTempDirectory("synod-test-redis");
      RedisServer server = RedisServer.newRedisServer()
          .bind("127.0.0.1")
          .port(port)
          .setting("save \"\"")
          .setting("appendonly no")
          .setting("dir " + dir.toAbsolutePath())
          .build();
      server.start();
      log.info("embedded Redis on 127.0.0.1:{} started in {} ms",
          port, (System.nanoTime() - startNs) / 1_000_000);
      return new TestRedis(server, port);
    } catch (IOException e) {
      throw new UncheckedIOException("could not start embedded Redis", e);
    }
  }

  /** A port nothing listens on at the moment. */
  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  public URI uri() {
    return URI.create("redis://127.0.0.1:" + port);
  }

  private void stop() {
    try {
      server.stop();
    } catch (IOException | RuntimeException e) {
      log.warn("could not stop embedded Redis: {}", e.toString());
    }
  }
}
