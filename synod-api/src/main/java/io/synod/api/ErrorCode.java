package io.synod.api;

/**
 * Why a call failed. Each code maps to one gRPC status and one HTTP status, so every interface
 * reports the same failure the same way.
 */
public enum ErrorCode {
  INVALID_ARGUMENT(3, 400),
  NOT_FOUND(5, 404),
  ALREADY_EXISTS(6, 409),
  FAILED_PRECONDITION(9, 412),
  ABORTED(10, 409),
  RESOURCE_EXHAUSTED(8, 429),
  DEADLINE_EXCEEDED(4, 504),
  UNAVAILABLE(14, 503),
  INTERNAL(13, 500);

  private final int grpcCode;
  private final int httpStatus;

  ErrorCode(int grpcCode, int httpStatus) {
    this.grpcCode = grpcCode;
    this.httpStatus = httpStatus;
  }

  public int grpcCode() {
    return grpcCode;
  }

  public int httpStatus() {
    return httpStatus;
  }
}
