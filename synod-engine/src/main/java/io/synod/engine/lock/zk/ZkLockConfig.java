package io.synod.engine.lock.zk;

import io.synod.api.SynodException;
import java.time.Duration;

/**
 * Settings of the ZooKeeper lock backend (spec 001 {@code lock_manager.zookeeper}), with defaults,
 * validated once, here.
 *
 * @param connectString ZooKeeper ensemble, {@code host:port[,host:port...]} (spec: {@code
 *     connection_string})
 * @param rootPath znode under which every resource lives; absolute, no trailing '/', not the
 *     ZooKeeper root itself (spec: {@code lock_root_path}; default {@value #ROOT_PATH_DEFAULT})
 * @param connectionTimeout the longest opening the service or a session waits to connect
 * @param operationTimeout the longest one blocking call that is not a lock wait takes: {@code
 *     tryAcquire}, {@code status}, {@code Lock.close()}
 * @param retryBaseSleep first pause of Curator's bounded exponential retry of a failed operation
 * @param retryMaxSleep longest pause between those retries
 * @param retriesMax retries of one ZooKeeper operation before it fails with UNAVAILABLE
 * @param leaseMin shortest lease a session may ask for (the server may raise it further: it clamps
 *     session timeouts to [2, 20] ticks by default)
 * @param leaseMax longest lease a session may ask for
 * @param waitMax longest {@code timeout} one acquire may ask for
 * @param sessionsMax sessions open at once on this service; each owns a ZooKeeper connection and
 *     its threads
 * @param acquiresPerSessionMax acquires in flight (waiting) at once on one session
 * @param locksPerSessionMax lock nodes one session may hold at once, intents included
 */
public record ZkLockConfig(
    String connectString,
    String rootPath,
    Duration connectionTimeout,
    Duration operationTimeout,
    Duration retryBaseSleep,
    Duration retryMaxSleep,
    int retriesMax,
    Duration leaseMin,
    Duration leaseMax,
    Duration waitMax,
    int sessionsMax,
    int acquiresPerSessionMax,
    int locksPerSessionMax) {

  public static final String ROOT_PATH_DEFAULT = "/synod/locks";
  static final int CONNECT_STRING_CHARS_MAX = 4_096;
  static final int ROOT_PATH_CHARS_MAX = 256;

  public ZkLockConfig {
    connectString(connectString);
    rootPath(rootPath);
    positive("connection_timeout", connectionTimeout);
    positive("operation_timeout", operationTimeout);
    positive("retry_base_sleep", retryBaseSleep);
    positive("retry_max_sleep", retryMaxSleep);
    if (retryMaxSleep.compareTo(retryBaseSleep) < 0) {
      throw SynodException.invalid("retry_max_sleep",
          "must not be less than retry_base_sleep (" + retryBaseSleep + "); got " + retryMaxSleep);
    }
    range("retries_max", retriesMax, 0, 29);
    positive("lease_min", leaseMin);
    positive("lease_max", leaseMax);
    if (leaseMax.compareTo(leaseMin) < 0 || leaseMax.toMillis() > Integer.MAX_VALUE) {
      throw SynodException.invalid("lease_max",
          "must be between lease_min (" + leaseMin + ") and " + Integer.MAX_VALUE + " ms; got "
              + leaseMax);
    }
    positive("wait_max", waitMax);
    range("sessions_max", sessionsMax, 1, 100_000);
    range("acquires_per_session_max", acquiresPerSessionMax, 1, 1_000_000);
    range("locks_per_session_max", locksPerSessionMax, 1, 1_000_000);
  }

  /** The spec's defaults for everything but where the ensemble is. */
  public static ZkLockConfig of(String connectString, String rootPath) {
    return new ZkLockConfig(connectString, rootPath, Duration.ofSeconds(15),
        Duration.ofSeconds(10), Duration.ofMillis(50), Duration.ofSeconds(2), 5,
        Duration.ofMillis(100), Duration.ofMinutes(10), Duration.ofMinutes(10), 1_024, 1_024,
        16_384);
  }

  public static ZkLockConfig of(String connectString) {
    return of(connectString, ROOT_PATH_DEFAULT);
  }

  public ZkLockConfig withOperationTimeout(Duration d) {
    return new ZkLockConfig(connectString, rootPath, connectionTimeout, d, retryBaseSleep,
        retryMaxSleep, retriesMax, leaseMin, leaseMax, waitMax, sessionsMax,
        acquiresPerSessionMax, locksPerSessionMax);
  }

  public ZkLockConfig withConnectionTimeout(Duration d) {
    return new ZkLockConfig(connectString, rootPath, d, operationTimeout, retryBaseSleep,
        retryMaxSleep, retriesMax, leaseMin, leaseMax, waitMax, sessionsMax,
        acquiresPerSessionMax, locksPerSessionMax);
  }

  private static void connectString(String s) {
    if (s == null || s.isBlank()) {
      throw SynodException.invalid("connect_string", "is required, like 'zk1:2181,zk2:2181'");
    }
    if (s.length() > CONNECT_STRING_CHARS_MAX || s.chars().anyMatch(Character::isWhitespace)) {
      throw SynodException.invalid("connect_string",
          "must be host:port pairs separated by ',' without spaces, at most "
              + CONNECT_STRING_CHARS_MAX + " characters; got '" + s + "'");
    }
  }

  private static void rootPath(String p) {
    String rule = "must be an absolute znode path below '/', like '" + ROOT_PATH_DEFAULT
        + "', without a trailing '/', empty segments, '.' or '..', at most "
        + ROOT_PATH_CHARS_MAX + " characters; got '" + p + "'";
    if (p == null || !p.startsWith("/") || p.length() < 2 || p.endsWith("/")
        || p.length() > ROOT_PATH_CHARS_MAX) {
      throw SynodException.invalid("root_path", rule);
    }
    for (String segment : p.substring(1).split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")
          || segment.chars().anyMatch(c -> ResourcePath.refusedByZooKeeper((char) c))) {
        throw SynodException.invalid("root_path", rule);
      }
    }
    if (p.equals("/zookeeper") || p.startsWith("/zookeeper/")) {
      throw SynodException.invalid("root_path",
          "must not be under /zookeeper (reserved by ZooKeeper); got '" + p + "'");
    }
  }

  private static void positive(String key, Duration value) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw SynodException.invalid(key, "must be a positive duration; got " + value);
    }
  }

  private static void range(String key, int value, int min, int max) {
    if (value < min || value > max) {
      throw SynodException.invalid(key,
          "must be between " + min + " and " + max + "; got " + value);
    }
  }
}
