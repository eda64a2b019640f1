package io.synod.kv.node;

import io.synod.api.SynodException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one storage node as its own process until it is stopped (SIGTERM closes it cleanly; a
 * SIGKILL loses no acknowledged write). When it serves, it prints one line to stdout, {@code
 * storage node <id> listening on <host>:<port>}, for scripts and tests to wait for.
 *
 * <pre>
 *   StorageNodeMain --id n1 --data /var/lib/synod/n1 [--port 7401] [--host 127.0.0.1]
 *                   [--sync-writes]
 * </pre>
 *
 * <p>Bad arguments print what is wrong with which flag and exit with status 2.
 */
public final class StorageNodeMain {
  static final int EXIT_USAGE = 2;
  static final int EXIT_START_FAILED = 1;
  static final String USAGE = "usage: StorageNodeMain --id <node id> --data <directory>"
      + " [--port <port, 0 = any free>] [--host <bind address, default 127.0.0.1>]"
      + " [--sync-writes]";

  private StorageNodeMain() {}

  public static void main(String[] args) throws InterruptedException {
    StorageNodeConfig config;
    try {
      config = parse(args);
    } catch (IllegalArgumentException e) {
      usageError(System.err, e.getMessage());
      return;
    }
    if (config == null) {
      System.out.println(USAGE);
      return;
    }
    StorageNode node;
    try {
      node = StorageNode.start(config);
    } catch (RuntimeException e) {
      System.err.println("storage node " + config.id() + " could not start: " + e.getMessage());
      System.exit(EXIT_START_FAILED);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      node.close();
      stopped.countDown();
    }, "storage-node-shutdown"));
    System.out.println("storage node " + node.id() + " listening on " + node.address());
    System.out.flush();
    stopped.await();
  }

  /**
   * The configuration the arguments give; null for {@code --help}.
   *
   * @throws IllegalArgumentException naming the flag that is wrong
   */
  static StorageNodeConfig parse(String[] args) {
    String id = null;
    String data = null;
    String host = StorageNodeConfig.DEFAULT_HOST;
    int port = 0;
    boolean syncWrites = false;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      switch (flag) {
        case "--help", "-h" -> {
          return null;
        }
        case "--sync-writes" -> syncWrites = true;
        case "--id" -> id = value(args, ++i, flag);
        case "--data" -> data = value(args, ++i, flag);
        case "--host" -> host = value(args, ++i, flag);
        case "--port" -> port = port(value(args, ++i, flag));
        default -> throw new IllegalArgumentException("unknown argument '" + flag + "'");
      }
    }
    if (id == null) {
      throw new IllegalArgumentException("--id is required");
    }
    if (data == null) {
      throw new IllegalArgumentException("--data is required");
    }
    try {
      return StorageNodeConfig.of(id, Path.of(data)).withHost(host).withPort(port)
          .withSyncWrites(syncWrites);
    } catch (SynodException e) {
      String field = e.field().orElse("");
      String rule = e.getMessage().startsWith(field + ": ")
          ? e.getMessage().substring(field.length() + 2) : e.getMessage();
      throw new IllegalArgumentException("--" + field.replace("data_dir", "data").replace('_', '-')
          + " " + rule);
    }
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length || args[i].startsWith("--")) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  private static int port(String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--port must be a number from 0 to 65535 (was '" + value
          + "')");
    }
  }

  private static void usageError(PrintStream err, String message) {
    err.println("storage node: " + message);
    err.println(USAGE);
    System.exit(EXIT_USAGE);
  }
}
