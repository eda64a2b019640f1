package io.synod.server;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.synod.api.kv.KvService;
import io.synod.api.spi.Participant;
import io.synod.client.RemoteCoordination;
import io.synod.engine.SynodNode;
import io.synod.engine.lock.RemoteLockSessions;
import io.synod.engine.log.LogConfig;
import io.synod.engine.saga.store.SagaStore;
import io.synod.proto.v1.ClusterStatus;
import io.synod.server.config.ServerConfig;
import io.synod.server.grpc.CallContext;
import io.synod.server.grpc.ClusterGrpcService;
import io.synod.server.grpc.CoordinationGrpcService;
import io.synod.server.grpc.LockGrpcService;
import io.synod.server.grpc.EventGrpcService;
import io.synod.server.grpc.KvGrpcService;
import io.synod.server.grpc.SagaGrpcService;
import io.synod.server.grpc.TracingInterceptor;
import io.synod.server.http.HttpApi;
import io.synod.server.http.LockHttp;
import io.synod.server.http.EventHttp;
import io.synod.server.http.KvHttp;
import io.synod.server.http.SagaHttp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A synod node serving its APIs: the node (log replica, coordinator, lock and saga drivers), the
 * key-value store ({@link KvRuntime}, unless disabled), the gRPC server, the HTTP/JSON server,
 * metrics and health. Started from a {@link ServerConfig}: the key-value store starts before the
 * node, whose saga driver writes to it ({@link KvSagaStore}); closing stops the APIs first, then
 * the node and its stores, then the key-value store.
 */
public final class SynodServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SynodServer.class);

  private final ServerConfig config;
  private final SynodNode node;
  private final Forwarding forwarding;
  private final LeaderRouter router;
  private final LockRouter locks;
  private final SagaRouter sagas;
  private final EventRouter events;
  private final ServerMetrics metrics;
  /** Null when the key-value store is disabled. */
  private final KvRuntime kv;
  private final Server grpc;
  private final ExecutorService grpcExecutor;
  private final HttpApi http;
  private final Telemetry telemetry;

  private SynodServer(ServerConfig config, SynodNode node, List<Participant> stores,
      Telemetry telemetry, PrometheusMeterRegistry registry, KvRuntime kv) throws IOException {
    this.config = config;
    this.node = node;
    this.telemetry = telemetry;
    Map<String, String> apiAddresses = new LinkedHashMap<>();
    config.peers().forEach(peer -> apiAddresses.put(peer.id(), peer.apiAddress()));
    this.forwarding = new Forwarding(node, apiAddresses, telemetry);
    this.router = new LeaderRouter(node, forwarding, config.sagaOnlyStores());
    this.sagas = new SagaRouter(node, forwarding, kv != null);
    this.events = new EventRouter(node, forwarding);
    this.locks = new LockRouter(node, new RemoteLockSessions(List.of(node.lockDriver())),
        forwarding);
    this.metrics = new ServerMetrics(registry, node, node.events(), System::currentTimeMillis);
    // A single node has no configured api_address; it shows the one it bound.
    Supplier<ClusterStatus> cluster = () -> ClusterGrpcService.status(node, config.clusterId(),
        apiAddresses.isEmpty() ? Map.of(node.id(), hostPort(grpcAddress())) : apiAddresses);
    this.kv = kv;
    KvService kvService = kv != null ? kv.service() : DisabledKv.INSTANCE;
    // Platform threads: a coordination runs on the call's thread, and its JDBC calls are cheaper
    // on platform threads than on virtual ones (see the Coordinator's pools).
    this.grpcExecutor = Executors.newCachedThreadPool(
        Thread.ofPlatform().daemon().name("synod-grpc-", 0).factory());
    Server started = null;
    try {
      started = NettyServerBuilder
          .forAddress(new InetSocketAddress(config.listen().host(), config.listen().grpcPort()))
          .executor(grpcExecutor)
          .maxInboundMessageSize(config.limits().maxRequestBytes())
          .flowControlWindow(RemoteCoordination.FLOW_CONTROL_WINDOW)
          .addService(ServerInterceptors.intercept(
              new CoordinationGrpcService(router, node.events()), new CallContext(),
              new TracingInterceptor(telemetry), new CallMetrics(metrics)))
          .addService(ServerInterceptors.intercept(
              new ClusterGrpcService(cluster),
              new CallMetrics(metrics)))
          .addService(ServerInterceptors.intercept(new LockGrpcService(locks), new CallContext(),
              new TracingInterceptor(telemetry), new CallMetrics(metrics)))
          .addService(ServerInterceptors.intercept(new SagaGrpcService(sagas), new CallContext(),
              new TracingInterceptor(telemetry), new CallMetrics(metrics)))
          .addService(ServerInterceptors.intercept(new EventGrpcService(events),
              new CallContext(), new TracingInterceptor(telemetry), new CallMetrics(metrics)))
          .addService(ServerInterceptors.intercept(new KvGrpcService(kvService),
              new CallContext(), new TracingInterceptor(telemetry), new CallMetrics(metrics)))
          .addService(ProtoReflectionServiceV1.newInstance())
          .build()
          .start();
      this.grpc = started;
      this.http = HttpApi.start(config.listen().host(), config.listen().httpPort(), router,
          cluster, new Health(node, stores, kv == null ? null : kv::check), metrics, telemetry,
          config.limits().maxRequestBytes(), new LockHttp(locks), new SagaHttp(sagas),
          new EventHttp(events), new KvHttp(kvService));
    } catch (IOException | RuntimeException e) {
      if (started != null) {
        started.shutdownNow();
      }
      grpcExecutor.shutdownNow();
      throw e;
    }
  }

  /**
   * Opens the stores, starts the node and its APIs. Returns once every port is bound; the node
   * serves writes once its group has a leader ({@code /health/ready} says when).
   */
  public static SynodServer start(ServerConfig config) {
    return start(config, Optional.empty());
  }

  /** As {@link #start(ServerConfig)}, with spans exported to {@code spans} (tests). */
  public static SynodServer start(ServerConfig config, Optional<SpanExporter> spans) {
    ServerConfig resolved = config.listen().raftPort() == 0 && config.peers().isEmpty()
        ? config.withRaftPort(LogConfig.freeLoopbackPort()) : config;
    Telemetry telemetry = Telemetry.create(resolved.monitoring(), resolved.nodeId(), spans);
    // The KV coordinator's meters go to the server's registry, so /metrics shows them.
    PrometheusMeterRegistry registry = ServerMetrics.newRegistry();
    List<Participant> stores;
    List<SagaStore> sagaStores;
    try {
      stores = resolved.openStores();
    } catch (RuntimeException e) {
      registry.close();
      telemetry.close();
      throw e;
    }
    SynodNode node;
    try {
      sagaStores = new ArrayList<>(resolved.openSagaStores());
    } catch (RuntimeException e) {
      stores.forEach(Participant::close);
      registry.close();
      telemetry.close();
      throw e;
    }
    KvRuntime kv = null;
    try {
      // Before the node: its saga driver may run a step in the key-value store at once (a new
      // leader resumes the sagas it finds in the log).
      if (resolved.kv().enabled()) {
        kv = KvRuntime.start(resolved, registry);
        sagaStores.add(kv.sagaStore());
      }
      node = SynodNode.builder(resolved.logConfig())
          .coordinator(resolved.coordinator())
          .locks(resolved.locks())
          .participants(stores)
          .sagaStores(sagaStores)
          .telemetry(telemetry.openTelemetry())
          .start();
    } catch (RuntimeException e) {
      stores.forEach(Participant::close);
      sagaStores.forEach(SagaStore::close);
      if (kv != null) {
        kv.close();
      }
      registry.close();
      telemetry.close();
      throw e;
    }
    try {
      SynodServer server = new SynodServer(resolved, node, stores, telemetry, registry, kv);
      LOG.info("synod node {} of cluster {} serving: HTTP {}, gRPC {}, Raft {}", node.id(),
          resolved.clusterId(), hostPort(server.httpAddress()), hostPort(server.grpcAddress()),
          resolved.logConfig().peers().get(node.id()));
      return server;
    } catch (IOException | RuntimeException e) {
      node.close();
      if (kv != null) {
        kv.close();
      }
      registry.close();
      telemetry.close();
      throw e instanceof IOException io ? new UncheckedIOException(
          "could not bind the API ports: " + io.getMessage(), io) : (RuntimeException) e;
    }
  }

  private static String hostPort(InetSocketAddress address) {
    return address.getHostString() + ":" + address.getPort();
  }

  public InetSocketAddress httpAddress() {
    return http.address();
  }

  public InetSocketAddress grpcAddress() {
    return (InetSocketAddress) grpc.getListenSockets().getFirst();
  }

  public String raftAddress() {
    return config.logConfig().peers().get(node.id());
  }

  public SynodNode node() {
    return node;
  }

  public ServerConfig config() {
    return config;
  }

  /** Stops serving at once, as a crash would leave the stores (recovery finishes the rest). */
  @Override
  public void close() {
    http.close();
    grpc.shutdownNow();
    try {
      grpc.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    grpcExecutor.shutdownNow();
    forwarding.close();
    locks.close();
    metrics.close();
    node.close();
    // After the node: its saga driver writes through the key-value store's coordinator.
    if (kv != null) {
      kv.close();
    }
    telemetry.close();
  }

  /** Counts gRPC calls by method and status code. */
  private record CallMetrics(ServerMetrics metrics) implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      String method = call.getMethodDescriptor().getFullMethodName();
      return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
        @Override
        public void close(Status status, Metadata trailers) {
          metrics.grpcCall(method, status.getCode().name());
          super.close(status, trailers);
        }
      }, headers);
    }
  }
}
