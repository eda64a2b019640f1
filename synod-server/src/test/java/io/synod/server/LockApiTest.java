package io.synod.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.synod.client.ProtoMapping;
import io.synod.proto.v1.AcquireRequest;
import io.synod.proto.v1.AcquireResponse;
import io.synod.proto.v1.CloseSessionRequest;
import io.synod.proto.v1.KeepAliveRequest;
import io.synod.proto.v1.LockMode;
import io.synod.proto.v1.LockStatusRequest;
import io.synod.proto.v1.LockStatusResponse;
import io.synod.proto.v1.LocksGrpc;
import io.synod.proto.v1.OpenSessionRequest;
import io.synod.proto.v1.ReleaseRequest;
import io.synod.proto.v1.Session;
import io.synod.proto.v1.SessionState;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lock API on the wire, as a client in another language sees it: the Locks gRPC service's
 * messages and codes, and the HTTP/JSON routes.
 */
@Timeout(60)
class LockApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  private static SynodServer server;
  private static ManagedChannel channel;
  private static LocksGrpc.LocksBlockingStub locks;

  @BeforeAll
  static void start() throws Exception {
    server = LockTestServers.single(dir);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcAddress().getPort())
        .usePlaintext().build();
    locks = LocksGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  // ---- gRPC -------------------------------------------------------------------------------------

  @Test
  void aTryOnlyAcquireThatWouldBlockIsRefusedAndStatusShowsTheHolder() {
    String a = open("a", 5_000, "");
    String b = open("b", 5_000, "");
    AcquireResponse held = locks.acquire(acquire(a, "grpc/row-1", LockMode.X, 10_000, ""));
    assertThat(held.getMode()).isEqualTo(LockMode.X);

    assertThatThrownBy(() -> locks.acquire(AcquireRequest.newBuilder().setSessionId(b)
            .setResource("grpc/row-1").setMode(LockMode.S).setTryOnly(true).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).startsWith("would block");
        });
    LockStatusResponse status = locks.getStatus(
        LockStatusRequest.newBuilder().setResource("grpc/row-1").build());
    assertThat(status.getHoldersList()).singleElement().satisfies(h -> {
      assertThat(h.getSessionId()).isEqualTo(a);
      assertThat(h.getFencingToken()).isEqualTo(held.getFencingToken());
      assertThat(h.getMode()).isEqualTo(LockMode.X);
    });
    assertThat(status.getWaitersList()).isEmpty();

    locks.release(ReleaseRequest.newBuilder().setSessionId(a).setResource("grpc/row-1").build());
    AcquireResponse next = locks.acquire(acquire(b, "grpc/row-1", LockMode.X, 10_000, ""));
    assertThat(next.getFencingToken()).isGreaterThan(held.getFencingToken());
    close(a);
    close(b);
  }

  @Test
  void aRetryWithTheSameRequestIdOpensNoSecondSessionAndTakesNoSecondGrant() {
    String first = open("retrier", 5_000, "open-key-1");
    String again = open("retrier", 5_000, "open-key-1");
    assertThat(again).isEqualTo(first);

    AcquireResponse grant = locks.acquire(acquire(first, "retry/r", LockMode.X, 5_000, "acq-1"));
    AcquireResponse retried = locks.acquire(acquire(first, "retry/r", LockMode.X, 5_000, "acq-1"));
    assertThat(retried.getFencingToken()).isEqualTo(grant.getFencingToken());
    AcquireResponse fresh = locks.acquire(acquire(first, "retry/s", LockMode.X, 5_000, "acq-2"));
    assertThat(fresh.getFencingToken()).isGreaterThan(grant.getFencingToken());
    assertThat(field(() -> locks.acquire(acquire(first, "retry/t", LockMode.X, 5_000, "acq-1"))))
        .as("a request id reused for another resource").isEqualTo("request_id");

    assertThatThrownBy(() -> open("someone-else", 5_000, "open-key-1"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getTrailers().get(ProtoMapping.FIELD_KEY)).isEqualTo("request_id");
        });
    close(first);
    assertThat(open("retrier", 5_000, "open-key-1")).as("a retry after the close")
        .isEqualTo(first);
    assertThat(locks.keepAliveOnce(KeepAliveRequest.newBuilder().setSessionId(first).build())
        .getState()).isEqualTo(SessionState.GONE);
  }

  @Test
  void aClientThatSendsNoKeepalivesLosesItsLockAfterItsLease() throws Exception {
    String dead = open("dead", 600, "");
    String live = open("live", 5_000, "");
    AcquireResponse held = locks.acquire(acquire(dead, "lease/r", LockMode.X, 5_000, ""));

    AcquireResponse next = locks.acquire(acquire(live, "lease/r", LockMode.X, 20_000, ""));
    assertThat(next.getFencingToken()).isGreaterThan(held.getFencingToken());
    var answer = locks.keepAliveOnce(KeepAliveRequest.newBuilder().setSessionId(dead).build());
    assertThat(answer.getState()).isEqualTo(SessionState.GONE);
    assertThat(answer.getLostList()).singleElement().satisfies(l -> {
      assertThat(l.getResource()).isEqualTo("lease/r");
      assertThat(l.getFencingToken()).isEqualTo(held.getFencingToken());
      assertThat(l.getReason()).isEqualTo(io.synod.proto.v1.LostReason.LEASE_EXPIRED);
    });
    assertThatThrownBy(() -> locks.acquire(acquire(dead, "lease/s", LockMode.X, 1_000, "")))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getTrailers().get(ProtoMapping.FIELD_KEY)).isEqualTo("session_id");
        });
    close(live);
  }

  @Test
  void aTimedOutWaitIsDeadlineExceededAndBadFieldsAreNamed() {
    String a = open("a", 5_000, "");
    String b = open("b", 5_000, "");
    locks.acquire(acquire(a, "timeout/r", LockMode.X, 5_000, ""));

    assertThatThrownBy(() -> locks.acquire(acquire(b, "timeout/r", LockMode.X, 200, "")))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
          assertThat(e.getStatus().getDescription()).contains("timeout/r");
        });
    assertThat(field(() -> locks.acquire(acquire(b, "timeout/r", LockMode.LOCK_MODE_UNSPECIFIED,
        1_000, "")))).isEqualTo("mode");
    assertThat(field(() -> locks.acquire(acquire(b, "timeout/r", LockMode.X, 0, ""))))
        .isEqualTo("timeout_ms");
    assertThat(field(() -> locks.acquire(acquire(b, "a//b", LockMode.X, 1_000, ""))))
        .isEqualTo("resource");
    assertThat(field(() -> open("x", 10, ""))).isEqualTo("lease_ms");
    assertThat(field(() -> open("", 1_000, ""))).isEqualTo("owner");
    close(a);
    close(b);
  }

  @Test
  void aForwardedCallToANodeThatLeadsIsServed() {
    Metadata forwarded = new Metadata();
    forwarded.put(io.synod.client.RemoteCoordination.FORWARDED_KEY, "1");
    Session session = locks.withInterceptors(
            io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(forwarded))
        .openSession(OpenSessionRequest.newBuilder().setOwner("fwd").build());
    assertThat(session.getLeaseMs()).as("the server's default lease").isEqualTo(30_000);
    close(session.getSessionId());
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  @Test
  void httpRoutesOpenAcquireShowReleaseAndClose() throws Exception {
    JsonNode opened = json(post("/v1/lock-sessions", "{\"owner\": \"script\", "
        + "\"lease_seconds\": 5}", null), 200);
    String id = opened.get("session_id").asText();
    assertThat(opened.get("lease_seconds").asDouble()).isEqualTo(5.0);

    String acquire = "{\"session_id\": \"" + id + "\", \"resource\": \"orders/table/row-1\", "
        + "\"mode\": \"X\", \"timeout_seconds\": 5}";
    JsonNode granted = json(post("/v1/locks", acquire, "key-7"), 200);
    assertThat(granted.get("resource").asText()).isEqualTo("orders/table/row-1");
    assertThat(granted.get("mode").asText()).isEqualTo("X");
    long token = granted.get("fencing_token").asLong();
    assertThat(json(post("/v1/locks", acquire, "key-7"), 200).get("fencing_token").asLong())
        .as("the same Idempotency-Key: the same grant").isEqualTo(token);

    JsonNode status = json(get("/v1/locks/orders/table/row-1"), 200);
    assertThat(status.get("resource").asText()).isEqualTo("orders/table/row-1");
    assertThat(status.get("holders")).singleElement().satisfies(h -> {
      assertThat(h.get("session_id").asText()).isEqualTo(id);
      assertThat(h.get("owner").asText()).isEqualTo("script");
      assertThat(h.get("mode").asText()).isEqualTo("X");
      assertThat(h.get("fencing_token").asLong()).isEqualTo(token);
    });
    assertThat(json(get("/v1/locks/orders"), 200).get("holders").get(0).get("mode").asText())
        .as("the intent lock taken on the way").isEqualTo("IX");

    JsonNode keepalive = json(post("/v1/lock-sessions/" + id + "/keepalive", "", null), 200);
    assertThat(keepalive.get("state").asText()).isEqualTo("alive");
    assertThat(keepalive.get("lost")).isEmpty();

    assertThat(json(post("/v1/locks/release", "{\"session_id\": \"" + id
        + "\", \"resource\": \"orders/table/row-1\"}", null), 200).get("resource").asText())
        .isEqualTo("orders/table/row-1");
    assertThat(json(get("/v1/locks/orders/table/row-1"), 200).get("holders")).isEmpty();

    JsonNode closed = json(send("DELETE", "/v1/lock-sessions/" + id, null), 200);
    assertThat(closed.get("closed").asBoolean()).isTrue();
    assertThat(json(send("DELETE", "/v1/lock-sessions/" + id, null), 200).get("closed")
        .asBoolean()).as("closing twice").isFalse();
    assertThat(json(post("/v1/lock-sessions/" + id + "/keepalive", "", null), 200)
        .get("state").asText()).isEqualTo("gone");
  }

  @Test
  void httpBadInputIsRefusedNamingTheField() throws Exception {
    String id = json(post("/v1/lock-sessions", "{\"owner\": \"bad\"}", null), 200)
        .get("session_id").asText();

    assertThat(error(post("/v1/lock-sessions", "{\"owner\": \"x\", \"lease\": 5}", null), 400))
        .isEqualTo("lease");
    assertThat(error(post("/v1/lock-sessions", "{\"lease_seconds\": 5}", null), 400))
        .isEqualTo("owner");
    assertThat(error(post("/v1/lock-sessions", "{\"owner\": \"x\", \"lease_seconds\": 0.1}",
        null), 400)).isEqualTo("lease_seconds");
    String base = "\"session_id\": \"" + id + "\", \"resource\": \"bad/r\"";
    assertThat(error(post("/v1/locks", "{" + base + ", \"mode\": \"Y\", \"timeout_seconds\": 1}",
        null), 400)).isEqualTo("mode");
    assertThat(error(post("/v1/locks", "{" + base + ", \"mode\": \"X\"}", null), 400))
        .isEqualTo("timeout_seconds");
    assertThat(error(post("/v1/locks", "{" + base + ", \"mode\": \"X\", \"timeout_seconds\": 1, "
        + "\"try_only\": \"yes\"}", null), 400)).isEqualTo("try_only");
    assertThat(error(post("/v1/locks", "{" + base + ", \"mode\": \"X\", \"timeout_seconds\": 1, "
        + "\"priority\": 1.5}", null), 400)).isEqualTo("priority");
    assertThat(error(post("/v1/locks", "{\"session_id\": \"" + id + "\", \"resource\": \"a//b\", "
        + "\"mode\": \"X\", \"timeout_seconds\": 1}", null), 400)).isEqualTo("resource");
    assertThat(error(post("/v1/locks", "{\"session_id\": \"r-nope\", \"resource\": \"bad/r\", "
        + "\"mode\": \"X\", \"timeout_seconds\": 1}", null), 404)).isEqualTo("session_id");
    assertThat(error(post("/v1/locks/release", "{\"session_id\": \"" + id + "\"}", null), 400))
        .isEqualTo("resource");
    assertThat(error(send("PUT", "/v1/locks", "{}"), 405)).isEqualTo("method");

    String tryOnly = "{" + base + ", \"mode\": \"X\", \"try_only\": true}";
    assertThat(json(post("/v1/locks", tryOnly, null), 200).get("fencing_token").asLong())
        .isPositive();
    String other = json(post("/v1/lock-sessions", "{\"owner\": \"other\"}", null), 200)
        .get("session_id").asText();
    HttpResponse<String> blocked = post("/v1/locks", "{\"session_id\": \"" + other
        + "\", \"resource\": \"bad/r\", \"mode\": \"S\", \"try_only\": true}", null);
    assertThat(blocked.statusCode()).isEqualTo(412);
    assertThat(JSON.readTree(blocked.body()).get("error").get("message").asText())
        .startsWith("would block");
    send("DELETE", "/v1/lock-sessions/" + id, null);
    send("DELETE", "/v1/lock-sessions/" + other, null);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private static String open(String owner, long leaseMs, String requestId) {
    return locks.openSession(OpenSessionRequest.newBuilder().setOwner(owner).setLeaseMs(leaseMs)
        .setRequestId(requestId).build()).getSessionId();
  }

  private static void close(String sessionId) {
    locks.closeSession(CloseSessionRequest.newBuilder().setSessionId(sessionId).build());
  }

  private static AcquireRequest acquire(String session, String resource, LockMode mode,
      long timeoutMs, String requestId) {
    return AcquireRequest.newBuilder().setSessionId(session).setResource(resource).setMode(mode)
        .setTimeoutMs(timeoutMs).setRequestId(requestId).build();
  }

  /** The field a refused call names in its trailer. */
  private static String field(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      return e.getTrailers().get(ProtoMapping.FIELD_KEY);
    }
    throw new AssertionError("the call was not refused");
  }

  private static JsonNode json(HttpResponse<String> response, int status) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    return JSON.readTree(response.body());
  }

  private static String error(HttpResponse<String> response, int status) throws Exception {
    JsonNode error = json(response, status).get("error");
    assertThat(error.get("message").asText()).isNotBlank();
    return error.get("field").asText();
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.httpAddress().getPort() + path);
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String body, String idempotencyKey)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (idempotencyKey != null) {
      request.header("Idempotency-Key", idempotencyKey);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> send(String method, String path, String body)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path))
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
