package io.synod.engine.history;

import io.synod.api.lock.LockMode;
import io.synod.core.Invariants;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Makes legal concurrent histories from a seed: a real (sequential) lock executes one operation at
 * each linearization point {@code i * SLOT_NANOS}, and each operation is given a random interval
 * around its point that does not overlap its client's previous and next operations. The points
 * themselves are a witness, so every history it makes is linearizable.
 *
 * <p>Some results are recorded as UNKNOWN (half of them never returning) whether or not their
 * effect happened; some sessions expire (all resources at once) and their client opens a new one.
 */
final class LockSimulator {
  static final long SLOT_NANOS = 1_000;

  /**
   * @param xShare the share of acquires asking X (the rest ask S)
   * @param unknownShare the share of results recorded as UNKNOWN
   * @param expireShare the share of operations that are a session expiry
   * @param spuriousRefusals whether an acquire may be refused though compatible (a FIFO timeout)
   */
  record Params(int clients, int resources, int operations, double xShare, double unknownShare,
      double expireShare, boolean spuriousRefusals, long seed) {

    Params {
      Invariants.check(clients > 0 && resources > 0 && operations >= 0, "%s", this);
    }

    static Params of(int clients, int resources, int operations, long seed) {
      return new Params(clients, resources, operations, 0.6, 0.03, 0.01, true, seed);
    }
  }

  private final Params params;
  private final Random random;
  private final String[] sessions;
  private final int[] generations;
  /** resource → session → held mode and token. */
  private final List<Map<String, Holding>> truth = new ArrayList<>();
  private long lastToken;

  private record Holding(LockMode mode, long token) {}

  /** What happened at one linearization point, before times are attached. */
  private record Step(int client, Operation.Kind kind, String resource, String session,
      LockMode mode, Operation.Result result) {}

  private LockSimulator(Params params) {
    this.params = params;
    this.random = new Random(params.seed());
    this.sessions = new String[params.clients()];
    this.generations = new int[params.clients()];
    for (int c = 0; c < params.clients(); c++) {
      sessions[c] = "s" + c + ".0";
    }
    for (int r = 0; r < params.resources(); r++) {
      truth.add(new HashMap<>());
    }
  }

  static List<Operation> generate(Params params) {
    return new LockSimulator(params).run();
  }

  static String resource(int r) {
    return "pg/t/" + r;
  }

  private List<Operation> run() {
    List<Step> steps = new ArrayList<>();
    for (int i = 0; i < params.operations(); i++) {
      steps.add(execute(random.nextInt(params.clients())));
    }
    return withTimes(steps);
  }

  private Step execute(int client) {
    String session = sessions[client];
    if (random.nextDouble() < params.expireShare()) {
      truth.forEach(holders -> holders.remove(session));
      generations[client]++;
      sessions[client] = "s" + client + "." + generations[client];
      return new Step(client, Operation.Kind.EXPIRE, null, session, null, maybeUnknown(
          Operation.Result.OK));
    }
    int r = random.nextInt(params.resources());
    Map<String, Holding> holders = truth.get(r);
    Holding held = holders.get(session);
    if (held != null && random.nextDouble() < 0.8) {
      Operation.Result result = maybeUnknown(Operation.Result.OK);
      if (result == Operation.Result.OK || random.nextBoolean()) {
        holders.remove(session);
      }
      return new Step(client, Operation.Kind.RELEASE, resource(r), session, null, result);
    }
    LockMode mode = held != null ? held.mode()
        : random.nextDouble() < params.xShare() ? LockMode.X : LockMode.S;
    return new Step(client, Operation.Kind.ACQUIRE, resource(r), session, mode,
        acquire(holders, session, mode));
  }

  private Operation.Result acquire(Map<String, Holding> holders, String session, LockMode mode) {
    boolean compatible = holders.entrySet().stream()
        .allMatch(e -> e.getKey().equals(session) || e.getValue().mode().compatibleWith(mode));
    boolean timedOut = params.spuriousRefusals() && random.nextDouble() < 0.05;
    if (!compatible || timedOut) {
      return Operation.Result.REFUSED;
    }
    Holding held = holders.get(session);
    boolean unknown = random.nextDouble() < params.unknownShare();
    if (unknown && random.nextBoolean()) {
      return Operation.Result.UNKNOWN; // never took effect
    }
    if (held == null) {
      lastToken += 1 + random.nextInt(3);
      held = new Holding(mode, lastToken);
      holders.put(session, held);
    }
    return unknown ? Operation.Result.UNKNOWN : new Operation.Granted(held.token());
  }

  private Operation.Result maybeUnknown(Operation.Result result) {
    return random.nextDouble() < params.unknownShare() ? Operation.Result.UNKNOWN : result;
  }

  /** Gives each step an interval around its point, between its client's neighbouring steps. */
  private List<Operation> withTimes(List<Step> steps) {
    int n = steps.size();
    long[] nextPoint = new long[n];
    long[] pointOfClient = new long[params.clients()];
    Arrays.fill(pointOfClient, Long.MAX_VALUE / 4);
    for (int i = n - 1; i >= 0; i--) {
      nextPoint[i] = pointOfClient[steps.get(i).client()];
      pointOfClient[steps.get(i).client()] = point(i);
    }
    long spreadNanos = 2L * params.clients() * SLOT_NANOS;
    long[] lastReturn = new long[params.clients()];
    Arrays.fill(lastReturn, -1);
    List<Operation> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Step step = steps.get(i);
      long at = point(i);
      long invoke = between(Math.max(lastReturn[step.client()] + 1, at - spreadNanos), at);
      long ret = between(at, Math.min(nextPoint[i] - 1, at + spreadNanos));
      lastReturn[step.client()] = ret;
      boolean never = step.result() instanceof Operation.Unknown && random.nextBoolean();
      out.add(new Operation(step.client(), step.kind(), step.resource(), step.session(),
          step.mode(), invoke, never ? Operation.NEVER : ret, step.result()));
    }
    return out;
  }

  private static long point(int i) {
    return (i + 1) * SLOT_NANOS;
  }

  private long between(long low, long high) {
    Invariants.check(low <= high, "empty interval [%d, %d]", low, high);
    return low + (long) (random.nextDouble() * (high - low + 1)) % (high - low + 1);
  }
}
