package io.synod.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import io.synod.proto.v1.LocksGrpc;
import io.synod.proto.v1.OpenSessionRequest;
import io.synod.server.LockTestServers;
import io.synod.server.SynodServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group of three servers, and clients that talk to a follower only: every lock call, and every
 * keepalive of the KeepAlive stream, reaches the leader through it.
 */
@Timeout(120)
class LockForwardingTest {
  @TempDir static Path dir;
  private static List<SynodServer> servers;
  private static SynodServer follower;

  @BeforeAll
  static void start() throws Exception {
    servers = LockTestServers.cluster(dir);
    follower = servers.stream().filter(s -> !s.node().isLeader()).findFirst().orElseThrow();
  }

  @AfterAll
  static void stop() {
    if (servers != null) {
      servers.forEach(SynodServer::close);
    }
  }

  @Test
  void aSessionKeptAliveThroughAFollowerKeepsItsLockForManyLeases() throws Exception {
    Duration lease = Duration.ofSeconds(3);
    try (RemoteLockService locks = RemoteLockService.connect(
        List.of(LockTestServers.grpc(follower)))) {
      LockSession session = locks.openSession("via-follower", lease);
      Lock lock = session.acquire("fwd/orders/1", LockMode.X, Duration.ofSeconds(20));

      // Were the keepalives not relayed to the leader, it would expire the session after 3 s.
      Thread.sleep(lease.multipliedBy(5).dividedBy(2).toMillis());
      assertThat(lock.lost()).isNotDone();
      assertThat(session.isAlive()).isTrue();
      LockStatus status = locks.status("fwd/orders/1");
      assertThat(status.holders()).singleElement().satisfies(h -> {
        assertThat(h.sessionId()).isEqualTo(session.id());
        assertThat(h.fencingToken()).isEqualTo(lock.fencingToken());
      });
      LockSession other = locks.openSession("other", lease);
      assertThat(other.tryAcquire("fwd/orders/1", LockMode.S)).isEmpty();

      lock.close();
      assertThat(other.tryAcquire("fwd/orders/1", LockMode.S)).hasValueSatisfying(Lock::close);
    }
  }

  @Test
  void aForwardedCallThatReachesAFollowerIsNotForwardedAgain() throws Exception {
    ManagedChannel channel = NettyChannelBuilder
        .forAddress("127.0.0.1", follower.grpcAddress().getPort()).usePlaintext().build();
    try {
      Metadata forwarded = new Metadata();
      forwarded.put(RemoteCoordination.FORWARDED_KEY, "1");
      LocksGrpc.LocksBlockingStub stub = LocksGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(forwarded));
      assertThatThrownBy(() -> stub.openSession(
              OpenSessionRequest.newBuilder().setOwner("bounced").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("forwarded");
          });
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void httpOnAFollowerIsServedByTheLeader() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI base = URI.create("http://127.0.0.1:" + follower.httpAddress().getPort());
    HttpResponse<String> opened = http.send(HttpRequest.newBuilder(base.resolve("/v1/lock-sessions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"owner\": \"curl\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(opened.statusCode()).as(opened.body()).isEqualTo(200);
    String id = new com.fasterxml.jackson.databind.ObjectMapper().readTree(opened.body())
        .get("session_id").asText();
    HttpResponse<String> keepalive = http.send(HttpRequest.newBuilder(
            base.resolve("/v1/lock-sessions/" + id + "/keepalive"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(keepalive.body()).contains("\"state\":\"alive\"");
  }
}
