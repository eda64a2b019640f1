package io.synod.kv.node;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running storage node: its {@link VersionStore}, the gRPC server in front of it, and the
 * periodic collection of old tombstones. Coordinators reach it with {@link StorageNodeClient}.
 *
 * <p>Stopping is {@link #close}; a node restarted on the same data directory has every write it
 * acknowledged before, whether it was closed or its process killed.
 */
public final class StorageNode implements AutoCloseable {
  /**
   * Largest gRPC message either side accepts: a put or scanned key may carry several siblings of
   * up to 4 MiB each (a tenant's largest value), more than gRPC's default of 4 MiB allows.
   */
  public static final int MESSAGE_BYTES_MAX = 64 << 20;
  /**
   * Threads serving calls. Not virtual threads: RocksDB calls are native and would pin their
   * carrier for the length of a write (an fsync with sync writes).
   */
  static final int HANDLER_THREADS = 16;
  private static final long SHUTDOWN_WAIT_SECONDS = 5;
  private static final Logger LOG = LoggerFactory.getLogger(StorageNode.class);

  private final StorageNodeConfig config;
  private final VersionStore store;
  private final ExecutorService handlers;
  private final Server server;
  private final int port;
  private final ScheduledExecutorService gc;
  private final AtomicBoolean closed = new AtomicBoolean();

  private StorageNode(StorageNodeConfig config, VersionStore store, ExecutorService handlers,
      Server server, ScheduledExecutorService gc) {
    this.config = config;
    this.store = store;
    this.handlers = handlers;
    this.server = server;
    this.port = server.getPort();
    this.gc = gc;
  }

  /** Opens the store in {@code config.dataDir()}, starts serving, and schedules collection. */
  public static StorageNode start(StorageNodeConfig config) {
    VersionStore store = VersionStore.open(config.dataDir(), config.syncWrites());
    ExecutorService handlers = Executors.newFixedThreadPool(HANDLER_THREADS,
        threads("storage-node-" + config.id() + "-call-", false));
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(),
            config.port()))
        .addService(new StorageNodeService(config.id(), store))
        .maxInboundMessageSize(MESSAGE_BYTES_MAX);
    // Without fsync a call is a few microseconds of RocksDB: run it on the network thread, which
    // saves two thread hand-offs per call (it tripled the calls a node serves on 2 cores). With
    // fsync a call waits for the disk and must not hold up the network thread.
    Server server = (config.syncWrites() ? builder.executor(handlers) : builder.directExecutor())
        .build();
    try {
      server.start();
    } catch (IOException | RuntimeException e) {
      handlers.shutdownNow();
      store.close();
      throw new UncheckedIOException("storage node " + config.id() + " cannot listen on "
          + config.host() + ":" + config.port() + ": " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
    ScheduledExecutorService gc = Executors.newSingleThreadScheduledExecutor(
        threads("storage-node-" + config.id() + "-gc-", true));
    StorageNode node = new StorageNode(config, store, handlers, server, gc);
    long intervalMillis = config.gcInterval().toMillis();
    gc.scheduleWithFixedDelay(node::collectTombstones, intervalMillis, intervalMillis,
        TimeUnit.MILLISECONDS);
    LOG.info("storage node {} listening on {} (data {}, sync writes {})", config.id(),
        node.address(), config.dataDir(), config.syncWrites());
    return node;
  }

  public String id() {
    return config.id();
  }

  /** {@code host:port}, the address coordinators dial. */
  public String address() {
    return config.host() + ":" + port();
  }

  /** The port the server listens (or listened) on: the one picked if the configuration said 0. */
  public int port() {
    return port;
  }

  public StorageNodeConfig config() {
    return config;
  }

  /** False once {@link #close()} began. */
  public boolean isOpen() {
    return !closed.get();
  }

  /** The node's store, for {@link LocalNodes}' direct calls. */
  VersionStore store() {
    return store;
  }

  /**
   * Stops taking calls, lets those in flight finish (a few seconds at most, then cancels them),
   * then closes the store. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    gc.shutdownNow();
    server.shutdown();
    try {
      if (!server.awaitTermination(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)) {
        LOG.warn("storage node {}: calls still running after {} s; cancelling them", id(),
            SHUTDOWN_WAIT_SECONDS);
        server.shutdownNow();
        server.awaitTermination(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS);
      }
      handlers.shutdown();
      if (!handlers.awaitTermination(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)) {
        handlers.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      handlers.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      // Stops a tombstone collection under way and waits for any store call still running:
      // RocksDB is never used once closed.
      store.close();
      LOG.info("storage node {} stopped", id());
    }
  }

  private void collectTombstones() {
    try {
      long collected = store.collectTombstones(System.currentTimeMillis(), config.tombstoneGrace());
      if (collected > 0) {
        LOG.info("storage node {} collected {} tombstoned keys older than {}", id(), collected,
            config.tombstoneGrace());
      }
    } catch (IllegalStateException closing) {
      LOG.debug("storage node {}: tombstone collection stopped, the store is closed", id());
    } catch (RuntimeException e) { // keep the schedule going: the next run may succeed
      LOG.warn("storage node {}: tombstone collection failed: {}", id(), e.getMessage(), e);
    }
  }

  private static ThreadFactory threads(String prefix, boolean daemon) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(daemon);
      return t;
    };
  }
}
