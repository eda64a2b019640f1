package io.synod.kv.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.Tenant;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A coordinator calling the nodes of its own process directly, as a server does by default. */
@Timeout(120)
class LocalNodesTest {
  @TempDir Path dir;

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void directCallsBehaveAsRemoteOnesDoIncludingANodeThatIsDown() {
    try (KvCluster cluster = KvCluster.start(dir, 3, true)) {
      KvCoordinator kv = cluster.coordinator("c1");
      kv.tenants().create(Tenant.withDefaults("acme"));
      assertThat(kv.write(KvWrite.of("acme", "k", bytes("a"))).clock()).hasToString("{c1:1}");
      assertThat(kv.write(KvWrite.of("acme", "k", bytes("b"))).clock()).hasToString("{c1:2}");

      cluster.kill("n2");
      assertThat(kv.write(KvWrite.of("acme", "k", bytes("c"))).replicaCount()).isEqualTo(2);
      assertThatThrownBy(() -> kv.read(new KvRead("acme", "k", Consistency.ALL, false)))
          .isInstanceOfSatisfying(SynodException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(e.getMessage()).contains("n2").contains("not running");
          });

      cluster.restart("n2");
      assertThat(new String(kv.read(new KvRead("acme", "k", Consistency.ALL, false)).value(),
          StandardCharsets.UTF_8)).isEqualTo("c");
      // The read repaired n2: with the other two down, it alone answers the latest value.
      cluster.kill("n1");
      cluster.kill("n3");
      assertThat(new String(kv.read(new KvRead("acme", "k", Consistency.ONE, false)).value(),
          StandardCharsets.UTF_8)).isEqualTo("c");
    }
  }
}
