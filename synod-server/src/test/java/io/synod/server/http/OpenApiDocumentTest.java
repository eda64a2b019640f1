package io.synod.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The served OpenAPI document is well formed where YAML makes mistakes easy: a flow mapping
 * ({@code {type: string, description: a, b}}) whose text holds a comma splits into bogus keys.
 */
class OpenApiDocumentTest {
  private static final Set<String> SCHEMA_KEYS = Set.of("type", "description", "format", "enum",
      "items", "$ref", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "default",
      "additionalProperties", "properties", "required", "oneOf", "anyOf", "example", "minItems",
      "maxItems", "pattern", "maxLength", "minLength", "readOnly", "contentEncoding", "const");

  @Test
  void everyPropertySchemaHasOnlySchemaKeywords() throws Exception {
    JsonNode doc;
    try (InputStream in = HttpApi.class.getResourceAsStream("/openapi.yaml")) {
      doc = new ObjectMapper(new YAMLFactory()).readTree(in);
    }
    List<String> odd = new ArrayList<>();
    walk(doc, "", odd);
    assertThat(odd).as("property schemas with keys that are not schema keywords").isEmpty();
  }

  private static void walk(JsonNode node, String path, List<String> odd) {
    if (node.isObject()) {
      JsonNode properties = node.get("properties");
      if (properties != null && properties.isObject()) {
        properties.fields().forEachRemaining(p -> p.getValue().fieldNames().forEachRemaining(k -> {
          if (!SCHEMA_KEYS.contains(k)) {
            odd.add(path + "/" + p.getKey() + ": '" + k + "'");
          }
        }));
      }
      node.fields().forEachRemaining(e -> walk(e.getValue(), path + "/" + e.getKey(), odd));
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        walk(node.get(i), path + "/" + i, odd);
      }
    }
  }
}
