package io.synod.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.StepOperation;
import io.synod.client.SagaProtoMapping;
import io.synod.proto.v1.KvOperation;
import io.synod.proto.v1.SagaOperation;
import io.synod.proto.v1.SagaStepDefinition;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/**
 * Key-value saga steps in the JSON API's shape ({@link SagaJson}) and on the wire ({@link
 * SagaProtoMapping}): both read into the same operations, a definition survives the trip to
 * proto and back, and bad input names the field as the JSON has it.
 */
class SagaJsonKvTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final String ORDER = """
      {"name": "order", "steps": [
        {"name": "mark",
         "forward_operation": {"store": "kv", "tenant_id": "{{saga.tenant}}",
                               "key": "order:{{saga.saga_id}}", "value": "reserved ✓",
                               "timeout": "5s"},
         "compensation_operation": {"store": "kv", "tenant_id": "{{saga.tenant}}",
                                    "key": "order:{{saga.saga_id}}", "delete": true}},
        {"name": "empty",
         "forward_operation": {"store": "kv", "tenant_id": "acme", "key": "k", "value": "",
                               "delete": false}}]}""";

  @Test
  void aKvWriteAndDeleteReadFromJsonAndSurviveProto() throws Exception {
    SagaDefinition definition = SagaJson.definition(JSON.readTree(ORDER), "definition");

    assertThat(definition.steps().get(0).action()).isEqualTo(StepOperation.Kv.put("kv",
        "{{saga.tenant}}", "order:{{saga.saga_id}}", "reserved ✓"));
    assertThat(definition.steps().get(0).compensation()).isEqualTo(StepOperation.Kv.delete("kv",
        "{{saga.tenant}}", "order:{{saga.saga_id}}"));
    assertThat(definition.steps().get(1).action())
        .isEqualTo(StepOperation.Kv.put("kv", "acme", "k", ""));

    io.synod.proto.v1.SagaDefinition proto = SagaProtoMapping.toProto(definition);
    KvOperation delete = proto.getSteps(0).getCompensationOperation().getKv();
    assertThat(delete.getDelete()).isTrue();
    assertThat(delete.hasValue()).isFalse();
    assertThat(proto.getSteps(1).getForwardOperation().getKv().hasValue()).isTrue();
    assertThat(SagaProtoMapping.fromProto(proto)).isEqualTo(definition);
  }

  @Test
  void badJsonNamesTheField() {
    invalid(() -> parse(kvStep("\"tenant_id\": \"acme\", \"key\": \"k\", \"value\": 10")),
        "definition.steps[0].forward_operation.value", "must be a string");
    invalid(() -> parse(kvStep("\"tenant_id\": \"acme\", \"key\": \"k\", \"value\": \"v\","
            + " \"colour\": \"red\"")),
        "definition.steps[0].forward_operation.colour", "unknown field");
    invalid(() -> parse(kvStep("\"key\": \"k\", \"value\": \"v\"")),
        "definition.steps[0].forward_operation.tenant_id", "is required");
    invalid(() -> parse(kvStep("\"tenant_id\": \"acme\", \"key\": \"\", \"value\": \"v\"")),
        "definition.steps[0].forward_operation.key", "is required");
    invalid(() -> parse(kvStep("\"tenant_id\": \"acme\", \"key\": \"k\", \"redis\": [\"GET\"]")),
        "definition.steps[0].forward_operation.tenant_id", "belongs to a kv operation");
    invalid(() -> parse(kvStep("\"timeout\": \"1s\"")),
        "definition.steps[0].forward_operation", "exactly one of sql (with params), redis, or a"
            + " kv write");
  }

  @Test
  void badProtoNamesTheFieldAsTheJsonDoes() {
    SagaOperation.Builder put = SagaOperation.newBuilder().setStore("kv")
        .setKv(KvOperation.newBuilder().setTenantId("acme").setKey("k").setValue("v"));

    invalid(() -> fromProto(put.clone().setKv(put.getKv().toBuilder().setTenantId(""))),
        "definition.steps[0].forward_operation.tenant_id", "is required");
    invalid(() -> fromProto(put.clone().setKv(put.getKv().toBuilder().setDelete(true))),
        "definition.steps[0].forward_operation.value", "must be absent when delete is true");
    invalid(() -> fromProto(put.clone().setKv(put.getKv().toBuilder().clearValue())),
        "definition.steps[0].forward_operation.value", "is required unless delete");
    invalid(() -> fromProto(SagaOperation.newBuilder().setStore("kv")),
        "definition.steps[0].forward_operation", "or kv");
    invalid(() -> SagaProtoMapping.fromProto(io.synod.proto.v1.SagaDefinition.newBuilder()
            .setName("d").addSteps(SagaStepDefinition.newBuilder().setName("s")
                .setForwardOperation(put)
                .setCompensationOperation(put.clone().setKv(put.getKv().toBuilder()
                    .setTenantId("other").clearValue().setDelete(true))))
            .build()),
        "definition.steps[0].compensation_operation.tenant_id", "must be the action's");
  }

  private static SagaDefinition parse(String json) throws Exception {
    JsonNode node = JSON.readTree(json);
    return SagaJson.definition(node, "definition");
  }

  private static String kvStep(String fields) {
    return "{\"name\": \"d\", \"steps\": [{\"name\": \"s\", \"forward_operation\":"
        + " {\"store\": \"kv\", " + fields + "}}]}";
  }

  private static SagaDefinition fromProto(SagaOperation.Builder operation) {
    return SagaProtoMapping.fromProto(io.synod.proto.v1.SagaDefinition.newBuilder().setName("d")
        .addSteps(SagaStepDefinition.newBuilder().setName("s").setForwardOperation(operation))
        .build());
  }

  private static void invalid(ThrowingCallable call, String field, String message) {
    assertThatThrownBy(call).isInstanceOfSatisfying(SynodException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(e.field()).as(e.getMessage()).hasValue(field);
      assertThat(e.getMessage()).contains(message);
    });
  }
}
