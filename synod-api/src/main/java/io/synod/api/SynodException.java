package io.synod.api;

import java.util.Objects;
import java.util.Optional;

/**
 * A failure with a code that maps to gRPC and HTTP, and a message that names what was wrong: the
 * field (for bad input), the resource, the rule, and what to do about it.
 */
public final class SynodException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final String field;

  public SynodException(ErrorCode code, String field, String message) {
    super(field == null ? message : field + ": " + message);
    this.code = Objects.requireNonNull(code, "code");
    this.field = field;
  }

  public SynodException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
    this.field = null;
  }

  /** Bad input: {@code field} names the offending field, {@code rule} what it must satisfy. */
  public static SynodException invalid(String field, String rule) {
    return new SynodException(ErrorCode.INVALID_ARGUMENT, field, rule);
  }

  public ErrorCode code() {
    return code;
  }

  /** The request field that was wrong, for {@link ErrorCode#INVALID_ARGUMENT}. */
  public Optional<String> field() {
    return Optional.ofNullable(field);
  }
}
