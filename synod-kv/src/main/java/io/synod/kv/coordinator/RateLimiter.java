package io.synod.kv.coordinator;

/**
 * A token bucket: {@code perSecond} permits a second, up to a second's worth saved. One per tenant
 * per coordinator, so a tenant's quota is per coordinator, not cluster-wide.
 */
final class RateLimiter {
  private final int perSecond;
  private double tokens;
  private long lastNanos;

  RateLimiter(int perSecond, long nowNanos) {
    this.perSecond = perSecond;
    this.tokens = perSecond;
    this.lastNanos = nowNanos;
  }

  int perSecond() {
    return perSecond;
  }

  synchronized boolean tryAcquire(long nowNanos) {
    tokens = Math.min(perSecond, tokens + (nowNanos - lastNanos) * perSecond / 1e9);
    lastNanos = nowNanos;
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    return false;
  }
}
