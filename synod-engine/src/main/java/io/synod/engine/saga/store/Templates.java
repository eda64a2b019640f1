package io.synod.engine.saga.store;

import io.synod.api.SynodException;
import io.synod.api.kv.Tenant;
import io.synod.api.saga.StepOperation;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fills a step's {@code {{saga.NAME}}} placeholders from the saga's input, and {@code
 * {{saga.saga_id}}} with the saga's id (which wins over an input named {@code saga_id}).
 *
 * <ul>
 *   <li>A value that is exactly one placeholder takes the input's value with its type: a SQL
 *       parameter {@code "{{saga.amount}}"} binds the number 5, or NULL. Redis words, local
 *       arguments and a key-value step's tenant, key and value are text, so they take the
 *       value's text.
 *   <li>A key-value step's tenant and key are checked once filled, as the key-value store would
 *       check them: so a saga whose input makes a bad key is refused at its start, not when the
 *       step runs.
 *   <li>A placeholder inside a longer text is replaced by the value's text ({@code
 *       "stock:{{saga.item}}"} becomes {@code "stock:apple"}); a null or byte-array value cannot
 *       be text and is an error.
 *   <li>SQL text takes no placeholders: values are bound as parameters, never pasted into SQL.
 *   <li>One pass: a placeholder inside an input value stays as it is. Only {@code {{saga.NAME}}}
 *       is a placeholder; other braces are left alone.
 * </ul>
 *
 * Errors are {@link SynodException#invalid} naming the field, e.g. {@code
 * steps[1].action.params[0]: {{saga.amount}} is not in the saga's input}.
 */
public final class Templates {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{saga\\.([^{}]+)}}");
  private static final String SAGA_ID = "saga_id";

  private Templates() {}

  /** {@code op} with its placeholders filled; errors name fields relative to the operation. */
  public static StepOperation resolve(
      StepOperation op, String sagaId, Map<String, Object> input) {
    return resolve("", op, sagaId, input);
  }

  /**
   * {@code op} with its placeholders filled.
   *
   * @param field where {@code op} is in the definition, e.g. {@code steps[1].action}, so that an
   *     error names {@code steps[1].action.params[0]}; empty for none
   * @throws SynodException (invalid argument) for a name the input lacks, a value that cannot be
   *     text where text is needed, or a placeholder in SQL text
   */
  public static StepOperation resolve(
      String field, StepOperation op, String sagaId, Map<String, Object> input) {
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(op, "op");
    Values values = new Values(Objects.requireNonNull(sagaId, "sagaId"),
        input == null ? Map.of() : input, field.isEmpty() ? "" : field + ".");
    return switch (op) {
      case StepOperation.Sql sql -> values.sql(sql);
      case StepOperation.Redis redis -> values.redis(redis);
      case StepOperation.Local local -> values.local(local);
      case StepOperation.Kv kv -> values.kv(kv);
    };
  }

  /** The longest key of the key-value store, in UTF-8 bytes (spec 004). */
  static final int KV_KEY_BYTES_MAX = 1024;

  /** The saga's values, and where in the definition the operation is. */
  private record Values(String sagaId, Map<String, Object> input, String prefix) {

    StepOperation.Sql sql(StepOperation.Sql op) {
      Matcher m = PLACEHOLDER.matcher(op.sql());
      if (m.find()) {
        throw SynodException.invalid(prefix + "sql", m.group() + " cannot stand in SQL text:"
            + " write ? there and put the placeholder in params, where it is bound");
      }
      List<Object> params = new ArrayList<>(op.params().size());
      for (int i = 0; i < op.params().size(); i++) {
        Object param = op.params().get(i);
        params.add(param instanceof String s ? typed(s, prefix + "params[" + i + "]") : param);
      }
      return new StepOperation.Sql(op.store(), op.sql(), params);
    }

    StepOperation.Redis redis(StepOperation.Redis op) {
      List<String> command = new ArrayList<>(op.command().size());
      for (int i = 0; i < op.command().size(); i++) {
        command.add(text(op.command().get(i), prefix + "command[" + i + "]"));
      }
      return new StepOperation.Redis(op.store(), command);
    }

    StepOperation.Local local(StepOperation.Local op) {
      Map<String, String> args = new TreeMap<>();
      new TreeMap<>(op.args()).forEach((name, value) ->
          args.put(name, text(value, prefix + "args." + name)));
      return new StepOperation.Local(op.store(), args);
    }

    StepOperation.Kv kv(StepOperation.Kv op) {
      String tenantId = text(op.tenantId(), prefix + "tenant_id");
      Tenant.checkId(prefix + "tenant_id", tenantId);
      String key = text(op.key(), prefix + "key");
      int keyBytes = key.getBytes(StandardCharsets.UTF_8).length;
      if (keyBytes == 0 || keyBytes > KV_KEY_BYTES_MAX) {
        throw SynodException.invalid(prefix + "key", "must be 1 to " + KV_KEY_BYTES_MAX
            + " bytes in UTF-8 once its placeholders are filled; got " + keyBytes);
      }
      String value = op.value() == null ? null : text(op.value(), prefix + "value");
      return new StepOperation.Kv(op.store(), tenantId, key, value, op.delete());
    }

    /** A value that is one placeholder keeps the input's type; otherwise text. */
    private Object typed(String value, String field) {
      Matcher m = PLACEHOLDER.matcher(value);
      return m.matches() ? lookup(m, field) : text(value, field);
    }

    private String text(String value, String field) {
      Matcher m = PLACEHOLDER.matcher(value);
      StringBuilder out = new StringBuilder();
      while (m.find()) {
        m.appendReplacement(out, Matcher.quoteReplacement(asText(lookup(m, field), m, field)));
      }
      m.appendTail(out);
      return out.toString();
    }

    private Object lookup(Matcher m, String field) {
      String name = m.group(1);
      if (name.equals(SAGA_ID)) {
        return sagaId;
      }
      if (!input.containsKey(name)) {
        throw SynodException.invalid(field, m.group() + " is not in the saga's input");
      }
      return input.get(name);
    }

    private static String asText(Object value, Matcher m, String field) {
      if (value == null || value instanceof byte[]) {
        throw SynodException.invalid(field, m.group() + " is "
            + (value == null ? "null" : "a byte array") + ", which cannot be written as text");
      }
      return value instanceof BigDecimal decimal ? decimal.toPlainString() : value.toString();
    }
  }
}
