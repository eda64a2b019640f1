package io.synod.kv.idempotency;

import static io.synod.kv.idempotency.IdempotencyChecks.checkFingerprint;
import static io.synod.kv.idempotency.IdempotencyChecks.checkKey;
import static io.synod.kv.idempotency.IdempotencyChecks.checkRetention;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvWriteResult;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisPoolConfig;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * The {@link IdempotencyStore} on a standalone Redis (or a primary with replicas), shared by every
 * coordinator. A key is a hash {@code synod:kv:idem:<tenant>:<idempotency key>} (tenant ids hold
 * no ':', so no two tenants share a name) with fields:
 *
 * <pre>
 *  s   state: 'p' claimed, 'd' done
 *  f   the request's fingerprint
 *  r   the response, once done, in the layout of {@code ResponseCodec}
 * </pre>
 *
 * Its expiry is the claim's lease while claimed and the retention once done: Redis forgets an
 * abandoned claim by itself, which is what lets a retry take it over. Each operation is one Lua
 * script, run atomically, so two claims of one key cannot both find it free; the check of the
 * fingerprint is done here, on what the script returns.
 */
public final class RedisIdempotencyStore implements IdempotencyStore {
  private static final Logger LOG = LoggerFactory.getLogger(RedisIdempotencyStore.class);

  /** How long a connect, a command, and a wait for a pooled connection may take. */
  public static final int TIMEOUT_MS = 2_000;
  static final String KEY_PREFIX = "synod:kv:idem:";

  /** KEYS[1]: the key; ARGV: fingerprint, lease ms. 1 if claimed, else the hash's s, f, r. */
  static final Script CLAIM = new Script("""
      local found = redis.call('HMGET', KEYS[1], 's', 'f', 'r')
      if found[1] then
        return found
      end
      redis.call('HSET', KEYS[1], 's', 'p', 'f', ARGV[1])
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return 1
      """);

  /** KEYS[1]: the key; ARGV: response, retention ms. 0 if the key is gone, else 1. */
  static final Script COMPLETE = new Script("""
      if redis.call('EXISTS', KEYS[1]) == 0 then
        return 0
      end
      redis.call('HSET', KEYS[1], 's', 'd', 'r', ARGV[1])
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return 1
      """);

  /** KEYS[1]: the key. Deletes it if it is claimed, not if done; 1 if it did. */
  static final Script RELEASE = new Script("""
      if redis.call('HGET', KEYS[1], 's') == 'p' then
        return redis.call('DEL', KEYS[1])
      end
      return 0
      """);

  /** KEYS[1]: the key. The hash's s, f, r (all nil when the key is absent). */
  static final Script PEEK = new Script("""
      return redis.call('HMGET', KEYS[1], 's', 'f', 'r')
      """);

  private final JedisPool pool;
  private final Duration lease;

  private RedisIdempotencyStore(JedisPool pool, Duration lease) {
    this.pool = pool;
    this.lease = lease;
  }

  /** A store with {@link #DEFAULT_LEASE}; see {@link #create(URI, int, Duration)}. */
  public static RedisIdempotencyStore create(URI uri, int maxPoolSize) {
    return create(uri, maxPoolSize, DEFAULT_LEASE);
  }

  /**
   * A store with its own pool of at most {@code maxPoolSize} connections to {@code uri}, e.g.
   * {@code redis://:password@127.0.0.1:6379/0}, whose claims hold a key for {@code lease}.
   */
  public static RedisIdempotencyStore create(URI uri, int maxPoolSize, Duration lease) {
    Objects.requireNonNull(uri, "uri");
    IdempotencyChecks.checkLease(lease);
    if (maxPoolSize < 1) {
      throw new IllegalArgumentException("maxPoolSize of the idempotency store is " + maxPoolSize
          + "; it must be at least 1");
    }
    JedisPoolConfig config = new JedisPoolConfig();
    config.setMaxTotal(maxPoolSize);
    config.setMaxIdle(maxPoolSize);
    config.setMaxWait(Duration.ofMillis(TIMEOUT_MS));
    config.setJmxEnabled(false);
    return new RedisIdempotencyStore(new JedisPool(config, uri, TIMEOUT_MS), lease);
  }

  /** The Redis key of one idempotency key of one tenant. */
  static String redisKey(String tenantId, String idempotencyKey) {
    return KEY_PREFIX + tenantId + ":" + idempotencyKey;
  }

  @Override
  public Claim claim(String tenantId, String idempotencyKey, String requestFingerprint,
      Duration retention) {
    checkKey(tenantId, idempotencyKey);
    checkFingerprint(requestFingerprint);
    checkRetention(retention);
    long leaseMs = IdempotencyChecks.claimLease(lease, retention).toMillis();
    Object reply = run("claim", tenantId, idempotencyKey, CLAIM,
        utf8(requestFingerprint), utf8(String.valueOf(leaseMs)));
    if (reply instanceof Long) {
      return new Claim.First();
    }
    Held held = held(tenantId, idempotencyKey, (List<?>) reply);
    if (!held.fingerprint().equals(requestFingerprint)) {
      return new Claim.Mismatch();
    }
    return switch (held) {
      case Held.Claimed claimed -> new Claim.InProgress();
      case Held.Completed completed -> new Claim.Done(completed.response());
    };
  }

  @Override
  public Optional<Held> peek(String tenantId, String idempotencyKey) {
    checkKey(tenantId, idempotencyKey);
    List<?> found = (List<?>) run("peek", tenantId, idempotencyKey, PEEK);
    if (found.stream().allMatch(Objects::isNull)) {
      return Optional.empty(); // absent, or expired: Redis forgets it by itself
    }
    return Optional.of(held(tenantId, idempotencyKey, found));
  }

  /** The hash's s, f and r as found, decoded; INTERNAL if they are malformed. */
  private static Held held(String tenantId, String idempotencyKey, List<?> found) {
    String state = found.get(0) == null ? null : new String((byte[]) found.get(0),
        StandardCharsets.UTF_8);
    byte[] fingerprint = (byte[]) found.get(1);
    if (fingerprint == null || !("p".equals(state) || "d".equals(state))) {
      throw corrupt(tenantId, idempotencyKey, "state " + state + ", fingerprint "
          + (fingerprint == null ? "missing" : "present"));
    }
    String fp = new String(fingerprint, StandardCharsets.UTF_8);
    if ("p".equals(state)) {
      return new Held.Claimed(fp);
    }
    byte[] response = (byte[]) found.get(2);
    if (response == null) {
      throw corrupt(tenantId, idempotencyKey, "done without a response");
    }
    try {
      return new Held.Completed(fp, ResponseCodec.decode(response));
    } catch (IllegalArgumentException e) {
      throw corrupt(tenantId, idempotencyKey, e.getMessage());
    }
  }

  @Override
  public void complete(String tenantId, String idempotencyKey, KvWriteResult response,
      Duration retention) {
    checkKey(tenantId, idempotencyKey);
    Objects.requireNonNull(response, "response");
    checkRetention(retention);
    Object stored = run("complete", tenantId, idempotencyKey, COMPLETE,
        ResponseCodec.encode(response), utf8(String.valueOf(retention.toMillis())));
    if (Long.valueOf(0).equals(stored)) {
      LOG.warn("idempotency key '{}' of tenant '{}' expired before its write completed (lease {});"
          + " its response is not kept, so a retry writes again", idempotencyKey, tenantId, lease);
    }
  }

  @Override
  public void release(String tenantId, String idempotencyKey) {
    checkKey(tenantId, idempotencyKey);
    run("release", tenantId, idempotencyKey, RELEASE);
  }

  @Override
  public void close() {
    pool.close();
  }

  private Object run(String what, String tenantId, String idempotencyKey, Script script,
      byte[]... args) {
    List<byte[]> keys = List.of(utf8(redisKey(tenantId, idempotencyKey)));
    try (Jedis jedis = pool.getResource()) {
      try {
        return jedis.evalsha(script.sha, keys, List.of(args));
      } catch (JedisNoScriptException e) {
        return jedis.eval(script.text, keys, List.of(args)); // loads it for the next EVALSHA too
      }
    } catch (JedisDataException e) {
      throw new SynodException(ErrorCode.INTERNAL, "idempotency store (Redis) refused to " + what
          + " key '" + idempotencyKey + "' of tenant '" + tenantId + "': " + e.getMessage()
          + "; is another program writing under " + KEY_PREFIX + "?", e);
    } catch (JedisException e) {
      throw new SynodException(ErrorCode.UNAVAILABLE, "idempotency store (Redis) could not "
          + what + " key '" + idempotencyKey + "' of tenant '" + tenantId + "': " + e.getMessage()
          + "; retry when Redis is reachable", e);
    }
  }

  private static SynodException corrupt(String tenantId, String idempotencyKey, String what) {
    return new SynodException(ErrorCode.INTERNAL, "idempotency record " + redisKey(tenantId,
        idempotencyKey) + " in Redis is malformed (" + what + "); delete it to let the key be"
        + " used again", (Throwable) null);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A Lua script and its SHA-1, for {@code EVALSHA}. */
  record Script(byte[] text, byte[] sha) {
    Script(String text) {
      this(utf8(text), utf8(sha1(text)));
    }

    private static String sha1(String text) {
      try {
        return HexFormat.of().formatHex(
            MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JVM has SHA-1", e);
      }
    }
  }
}
