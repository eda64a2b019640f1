package io.synod.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import io.synod.server.SynodServer;
import io.synod.server.config.ConfigLoader;
import io.synod.server.config.ServerConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code synod serve}: runs a node with its gRPC and HTTP/JSON APIs until it is stopped (SIGINT or
 * SIGTERM). With no configuration it is a single node with its state under ./data and the demo's
 * two embedded H2 stores.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {
        "Run a synod node: gRPC API (default 127.0.0.1:7790), HTTP/JSON API, /metrics and",
        "/health (default 127.0.0.1:7780), Raft (default 127.0.0.1:7770).",
        "Without --config: one node, state under ./data, the demo's H2 stores bank_a and bank_b."},
    footer = {"", "Every setting can be overridden by an environment variable, e.g.",
        "SYNOD_LISTEN_HTTP_PORT=8080; see docs/configuration.md.",
        "Exit codes: 0 stopped by a signal, 2 invalid configuration, 1 failed to start."})
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML configuration (coordination_service: ...); default: $SYNOD_CONFIG, else none.")
  Path config;

  private final PrintStream out = System.out;

  @Override
  public Integer call() throws Exception {
    Map<String, String> env = System.getenv();
    Optional<Path> file = Optional.ofNullable(config)
        .or(() -> Optional.ofNullable(env.get("SYNOD_CONFIG")).filter(s -> !s.isBlank()).map(Path::of));
    ServerConfig settings = ConfigLoader.load(file, env);
    configureLogging(settings.monitoring().logFormat());
    Files.createDirectories(settings.dataDir());
    if (usesDemoStores(settings)) {
      for (ServerConfig.Store store : settings.stores()) {
        DemoCommand.setUpBank(store.jdbcUrl());
      }
    }
    SynodServer server = SynodServer.start(settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "synod-shutdown"));
    out.printf("synod node %s of cluster %s%n", server.node().id(), settings.clusterId());
    out.printf("  http  %s (/v1, /metrics, /health/ready, /openapi.yaml)%n",
        address(server.httpAddress()));
    out.printf("  grpc  %s%n", address(server.grpcAddress()));
    out.printf("  raft  %s%n", server.raftAddress());
    out.printf("  data  %s%n", settings.dataDir().toAbsolutePath());
    out.printf("  stores %s%n", settings.stores().stream().map(s -> s.name() + " (" + s.type()
        .name().toLowerCase(java.util.Locale.ROOT) + ")").toList());
    out.printf("  kv    %s%n", describeKv(settings));
    out.flush();
    stopped.await();
    return 0;
  }

  /** No stores configured: the demo's two H2 banks under data_dir/stores, with their accounts. */
  private static boolean usesDemoStores(ServerConfig settings) {
    String prefix = "jdbc:h2:file:" + settings.dataDir().toAbsolutePath().resolve("stores");
    return settings.stores().stream().map(ServerConfig.Store::name).toList()
        .equals(java.util.List.of("bank_a", "bank_b"))
        && settings.stores().stream().allMatch(s -> s.jdbcUrl().startsWith(prefix));
  }

  /** The key-value store in a line: its storage nodes and default tenant, or that it is off. */
  private static String describeKv(ServerConfig settings) {
    ServerConfig.Kv kv = settings.kv();
    if (!kv.enabled()) {
      return "disabled";
    }
    java.util.List<String> parts = new java.util.ArrayList<>();
    if (kv.embeddedNodes() > 0) {
      parts.add(kv.embeddedNodes() + " embedded storage nodes");
    }
    if (!kv.storageNodes().isEmpty()) {
      parts.add(kv.storageNodes().size() + " external storage nodes");
    }
    if (parts.isEmpty()) {
      parts.add("no configured storage nodes");
    }
    parts.add(kv.defaultTenant().isEmpty() ? "no default tenant"
        : "tenant '" + kv.defaultTenant() + "'");
    return String.join(", ", parts) + " (/v1/kv, synod kv)";
  }

  private static String address(java.net.InetSocketAddress address) {
    return address.getHostString() + ":" + address.getPort();
  }

  /** Switches logging to the server's format: JSON lines (default) or text. */
  private static void configureLogging(String format) throws JoranException {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(ServeCommand.class.getResource(
        "json".equals(format) ? "/logback-serve-json.xml" : "/logback-serve-text.xml"));
  }
}
