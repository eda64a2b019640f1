package io.synod.engine.saga.store;

import io.synod.api.saga.StepOperation;
import io.synod.engine.participant.AbortClassifier;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisPoolConfig;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * Runs {@link StepOperation.Redis} steps on a standalone Redis (or a primary with replicas; not
 * Redis Cluster, where the command's keys may live on another node than the barrier's). The
 * barrier and the command run in one Lua script ({@link #SCRIPT}, by {@code EVALSHA}), which Redis
 * runs atomically: two tries of one step cannot interleave.
 *
 * <p>The barrier of step {@code s} of saga {@code g} is two string keys, {@code
 * synod:saga:<g>:<s>:action} (value {@code action} or {@code blocked}) and {@code
 * synod:saga:<g>:<s>:compensation} (value {@code compensation}), each expiring {@link
 * #BARRIER_TTL} after it was written. Step names cannot hold a ':', so no two steps share a key.
 * The call's idempotency key is not stored: the key names carry the same saga and step.
 *
 * <p>A script is not undone when a command in it fails, so the script writes a barrier only after
 * its command succeeded: a failed command leaves neither effect nor barrier. A socket timeout
 * leaves the outcome unknown; it is a retryable failure, and the retry finds the barrier if the
 * script did run. Errors: a lost or timed-out connection, an exhausted pool and the server's
 * {@code BUSY}, {@code LOADING}, {@code OOM}, {@code MASTERDOWN}, {@code READONLY}, {@code
 * TRYAGAIN}, {@code CLUSTERDOWN}, {@code NOREPLICAS} and {@code MISCONF} are retryable; any other
 * command error (e.g. {@code WRONGTYPE}, {@code ERR value is not an integer}) is not.
 */
public final class RedisSagaStore implements SagaStore {
  private static final Logger LOG = LoggerFactory.getLogger(RedisSagaStore.class);

  /**
   * How long barrier keys live. A retry or a late action that arrives later than this after its
   * barrier was written is no longer recognised; sagas end (completed or compensated) well
   * within a week, and the keys do not pile up.
   */
  public static final Duration BARRIER_TTL = Duration.ofDays(7);

  /** The most words a command may have (Lua's {@code unpack} has a limit near 8000). */
  public static final int COMMAND_WORDS_MAX = 1000;

  /** How long a connect, and a wait for a pooled connection, may take. */
  private static final int CONNECT_TIMEOUT_MS = 5_000;

  private static final Set<String> RETRYABLE_ERRORS = Set.of("BUSY", "LOADING", "OOM",
      "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "MISCONF");

  /**
   * The barrier and the command. KEYS: the step's action and compensation barrier keys. ARGV[1]:
   * 'action' or 'compensation'; ARGV[2]: the barrier TTL in seconds; ARGV[3..]: the command.
   */
  static final String SCRIPT = """
      local function run()
        local reply = redis.pcall(unpack(ARGV, 3))
        if type(reply) == 'table' and reply.err then
          return reply
        end
        return nil
      end
      local function mark(key, value)
        redis.call('SET', key, value, 'EX', ARGV[2])
      end
      if ARGV[1] == 'action' then
        local barrier = redis.call('GET', KEYS[1])
        if barrier == 'blocked' then
          return 'refused'
        end
        if barrier then
          return 'already_applied'
        end
        local err = run()
        if err then
          return err
        end
        mark(KEYS[1], 'action')
        return 'applied'
      end
      if redis.call('EXISTS', KEYS[2]) == 1 then
        return 'already_applied'
      end
      if redis.call('GET', KEYS[1]) ~= 'action' then
        mark(KEYS[1], 'blocked')
        mark(KEYS[2], 'compensation')
        return 'skipped'
      end
      local err = run()
      if err then
        return err
      end
      mark(KEYS[2], 'compensation')
      return 'applied'
      """;

  private static final String SCRIPT_SHA = sha1(SCRIPT);

  private final String name;
  private final JedisPool pool;

  private RedisSagaStore(String name, JedisPool pool) {
    this.name = name;
    this.pool = pool;
  }

  /**
   * A store with its own pool of at most {@code maxPoolSize} connections to {@code uri}, e.g.
   * {@code redis://:password@127.0.0.1:6379/0}. A borrower waits at most 5 s for a connection;
   * each call's socket timeout is its step's timeout.
   */
  public static RedisSagaStore create(String name, URI uri, int maxPoolSize) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(uri, "uri");
    if (name.isBlank()) {
      throw new IllegalArgumentException("saga store name must not be blank");
    }
    if (maxPoolSize < 1) {
      throw new IllegalArgumentException(
          "maxPoolSize of store '" + name + "' is " + maxPoolSize + ", must be at least 1");
    }
    JedisPoolConfig config = new JedisPoolConfig();
    config.setMaxTotal(maxPoolSize);
    config.setMaxIdle(maxPoolSize);
    config.setMaxWait(Duration.ofMillis(CONNECT_TIMEOUT_MS));
    config.setJmxEnabled(false);
    return new RedisSagaStore(name, new JedisPool(config, uri, CONNECT_TIMEOUT_MS));
  }

  /** The barrier key of one step's action or compensation ({@code op}). */
  static String barrierKey(String sagaId, String step, String op) {
    return "synod:saga:" + sagaId + ":" + step + ":" + op;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public StepResult apply(StepCall call) {
    Objects.requireNonNull(call, "call");
    if (!(call.operation() instanceof StepOperation.Redis redis)) {
      return refuse(call, "this store runs Redis commands, not "
          + call.operation().getClass().getSimpleName());
    }
    int words = redis.command().size();
    if (words == 0 || words > COMMAND_WORDS_MAX) {
      return refuse(call, "a command has 1 to " + COMMAND_WORDS_MAX + " words; got " + words);
    }
    StepResult result = runScript(call, redis);
    LOG.debug("saga {} step {} {} on store '{}': {}",
        call.sagaId(), call.step(), call.kindName(), name, result);
    return result;
  }

  private StepResult runScript(StepCall call, StepOperation.Redis redis) {
    List<String> keys = List.of(
        barrierKey(call.sagaId(), call.step(), BarrierRow.ACTION),
        barrierKey(call.sagaId(), call.step(), BarrierRow.COMPENSATION));
    List<String> args = new ArrayList<>(redis.command().size() + 2);
    args.add(call.kindName());
    args.add(String.valueOf(BARRIER_TTL.toSeconds()));
    args.addAll(redis.command());
    try (Jedis jedis = pool.getResource()) {
      jedis.getConnection().setSoTimeout(socketTimeoutMs(call.timeout()));
      return outcome(call, eval(jedis, keys, args));
    } catch (JedisDataException e) {
      return failed(call, isRetryable(e), e);
    } catch (JedisException e) {
      return failed(call, true, e); // connection lost or timed out, pool exhausted or closed
    }
  }

  private static Object eval(Jedis jedis, List<String> keys, List<String> args) {
    try {
      return jedis.evalsha(SCRIPT_SHA, keys, args);
    } catch (JedisNoScriptException e) {
      return jedis.eval(SCRIPT, keys, args); // loads it for the next EVALSHA too
    }
  }

  private StepResult outcome(StepCall call, Object reply) {
    return switch (String.valueOf(reply)) {
      case "applied" -> new StepResult.Applied();
      case "already_applied" -> new StepResult.AlreadyApplied();
      case "skipped" -> new StepResult.Skipped();
      case "refused" -> new StepResult.Refused();
      default -> refuse(call, "the barrier script answered '" + reply + "'");
    };
  }

  /** Whether the server's error code (its first word) names a passing condition. */
  static boolean isRetryable(JedisDataException e) {
    String message = e.getMessage() == null ? "" : e.getMessage().strip();
    int space = message.indexOf(' ');
    return RETRYABLE_ERRORS.contains(space < 0 ? message : message.substring(0, space));
  }

  private StepResult failed(StepCall call, boolean retryable, JedisException e) {
    return new StepResult.Failed(retryable, call.what() + " on store '" + name + "': "
        + AbortClassifier.firstLine(e.getMessage()));
  }

  private StepResult refuse(StepCall call, String why) {
    return new StepResult.Failed(false, call.what() + " on store '" + name + "': " + why);
  }

  private static int socketTimeoutMs(Duration timeout) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
  }

  private static String sha1(String script) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every JVM", e);
    }
  }

  @Override
  public void close() {
    pool.close();
  }

  @Override
  public String toString() {
    return "RedisSagaStore[" + name + "]";
  }
}
