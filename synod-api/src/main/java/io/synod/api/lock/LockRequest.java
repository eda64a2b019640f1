package io.synod.api.lock;

import java.time.Duration;
import java.util.Objects;

/**
 * One acquire. {@code withIntents} asks the service to take the intent locks on every ancestor
 * first (IS for S, IX for X), top-down; without it, the caller must already hold them. {@code
 * priority} breaks deadlock-victim ties (the lowest priority is chosen, after the youngest
 * session and the fewest locks).
 */
public record LockRequest(
    String resource, LockMode mode, Duration timeout, boolean withIntents, int priority) {

  public LockRequest {
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(timeout, "timeout");
  }

  public static LockRequest of(String resource, LockMode mode, Duration timeout) {
    return new LockRequest(resource, mode, timeout, true, 0);
  }

  public LockRequest withoutIntents() {
    return new LockRequest(resource, mode, timeout, false, priority);
  }

  public LockRequest withPriority(int newPriority) {
    return new LockRequest(resource, mode, timeout, withIntents, newPriority);
  }
}
