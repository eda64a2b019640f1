package io.synod.kv.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.Tenant;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/**
 * Settings no store should ever hold are refused before they reach one, by the records
 * themselves, with INVALID_ARGUMENT naming the field.
 */
class TenantRulesTest {

  @Test
  void badTenantSettingsAreRefusedNamingTheField() {
    assertInvalid(() -> new Tenant("a b", 3, Consistency.QUORUM, 1, 0), "tenant_id");
    assertInvalid(() -> new Tenant("-lead", 3, Consistency.QUORUM, 1, 0), "tenant_id");
    assertInvalid(() -> new Tenant("x".repeat(65), 3, Consistency.QUORUM, 1, 0), "tenant_id");
    assertInvalid(() -> new Tenant("t", 0, Consistency.QUORUM, 1, 0), "replication_factor");
    assertInvalid(() -> new Tenant("t", 8, Consistency.QUORUM, 1, 0), "replication_factor");
    assertInvalid(() -> new Tenant("t", 3, Consistency.QUORUM, 0, 0), "max_value_bytes");
    assertInvalid(() -> new Tenant("t", 3, Consistency.QUORUM, Tenant.MAX_VALUE_BYTES + 1, 0),
        "max_value_bytes");
    assertInvalid(() -> new Tenant("t", 3, Consistency.QUORUM, 1, -1), "max_requests_per_second");
    assertThatThrownBy(() -> new Tenant("t", 3, null, 1, 0))
        .hasMessageContaining("default_consistency");
  }

  @Test
  void theLimitsThemselvesAreAccepted() {
    Tenant t = new Tenant("x".repeat(64), 7, Consistency.ALL, Tenant.MAX_VALUE_BYTES, 0);

    assertThat(t.replicationFactor()).isEqualTo(7);
    assertThat(new Tenant("a.b_c-1", 1, Consistency.ONE, 1, 1).id()).isEqualTo("a.b_c-1");
  }

  @Test
  void badNodeRecordsAreRefusedNamingTheField() {
    assertInvalid(() -> new NodeRecord("n:1", "h:1", "active", "1,2"), "node_id");
    assertInvalid(() -> new NodeRecord(null, "h:1", "active", "1,2"), "node_id");
    assertInvalid(() -> new NodeRecord("n1", " ", "active", "1,2"), "address");
    assertInvalid(() -> new NodeRecord("n1", "h".repeat(256), "active", ""), "address");
    assertInvalid(() -> new NodeRecord("n1", "h:1", "Active", ""), "state");
    assertInvalid(() -> new NodeRecord("n1", "h:1", null, ""), "state");
    assertInvalid(() -> new NodeRecord("n1", "h:1", "a".repeat(33), ""), "state");
    assertInvalid(() -> new NodeRecord("n1", "h:1", "active", null), "tokens");
    assertThat(new NodeRecord("n1", "h:1", "draining_slow", "").state()).isEqualTo("draining_slow");
  }

  private static void assertInvalid(ThrowingCallable call, String field) {
    assertThatThrownBy(call).isInstanceOfSatisfying(SynodException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(e.field()).contains(field);
      assertThat(e.getMessage()).startsWith(field + ": ").contains("was");
    });
  }
}
