package io.synod.engine.lock.zk;

import io.synod.api.lock.LockMode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The lock nodes of one resource znode: their names, their data, and the one rule that says which
 * of them hold the lock. Pure functions, so the rule is tested without a server and is the same
 * for {@code acquire} and {@code status}.
 *
 * <p>Layout under the root path ({@code /synod/locks} by default), for {@code X} on
 * {@code pg/accounts/42} taken with intents:
 *
 * <pre>
 * /synod/locks/pg                                      container (resource pg)
 *   _c_&lt;uuid&gt;-lock-IX-0000000003                      ephemeral sequential (IX on pg)
 *   accounts                                           container (resource pg/accounts)
 *     _c_&lt;uuid&gt;-lock-IX-0000000000
 *     42                                               container (resource pg/accounts/42)
 *       _c_&lt;uuid&gt;-lock-X-0000000007
 * </pre>
 *
 * <p>The {@code _c_<uuid>-} prefix is Curator's protection: a create retried after a lost
 * connection finds its own node instead of leaving a second one behind. Order is by the sequence
 * suffix alone (the prefix is random). A lock node's data:
 *
 * <pre>
 * +----------------------+------+-------------------+
 * | session id "0x1a2b"  | '\n' | owner (any text)  |   UTF-8
 * +----------------------+------+-------------------+
 * </pre>
 *
 * <p>Data version 0 means "waiting or not yet stamped"; the grant rewrites the same bytes, so
 * version 1 and {@code mzxid} mark a granted node and its fencing token.
 */
final class LockNodes {
  static final String NAME_PREFIX = "lock-";
  static final String PROTECTED_PREFIX = "_c_";
  private static final Pattern NAME =
      Pattern.compile("^(?:_c_[0-9a-fA-F-]{36}-)?lock-(IS|IX|S|X)-(\\d{10,19})$");

  private LockNodes() {}

  /** One lock node as listed under its resource znode. */
  record Child(String name, long sequence, LockMode mode) {}

  /** What a lock node's data says. */
  record Data(String sessionId, String owner) {}

  /** The path to hand to an EPHEMERAL_SEQUENTIAL create; ZooKeeper appends the sequence. */
  static String createPath(String resourceZnode, LockMode mode) {
    return resourceZnode + "/" + NAME_PREFIX + mode.name() + "-";
  }

  /** Parses a child name; empty for anything that is not a lock node (child resources). */
  static Optional<Child> parse(String name) {
    Matcher m = NAME.matcher(name);
    if (!m.matches()) {
      return Optional.empty();
    }
    return Optional.of(new Child(name, Long.parseLong(m.group(2)), LockMode.valueOf(m.group(1))));
  }

  /** The lock nodes among {@code names}, oldest (lowest sequence) first. */
  static List<Child> sorted(List<String> names) {
    List<Child> out = new ArrayList<>(names.size());
    for (String name : names) {
      parse(name).ifPresent(out::add);
    }
    out.sort(Comparator.comparingLong(Child::sequence));
    return out;
  }

  /**
   * The grant rule. Node {@code index} may hold its lock when every earlier node of another
   * session has a compatible mode; it returns the nearest earlier node that is not, or -1. Nodes of
   * the same session are ignored, so a sole S holder's X request (an upgrade) is granted. Earlier
   * waiters count as well as holders: that is what makes each resource FIFO.
   */
  static <T> int blocker(
      List<T> sorted, int index, Function<T, LockMode> modeOf, BiPredicate<T, T> sameSession) {
    assert index >= 0 && index < sorted.size() : index;
    T own = sorted.get(index);
    LockMode mode = modeOf.apply(own);
    for (int j = index - 1; j >= 0; j--) {
      T earlier = sorted.get(j);
      if (!sameSession.test(earlier, own) && !mode.compatibleWith(modeOf.apply(earlier))) {
        return j;
      }
    }
    return -1;
  }

  static byte[] encode(String sessionId, String owner) {
    assert sessionId.indexOf('\n') < 0 : sessionId;
    return (sessionId + "\n" + owner).getBytes(StandardCharsets.UTF_8);
  }

  /** Decodes node data; a node written by something else reads as an unknown session. */
  static Data decode(byte[] data) {
    if (data == null) {
      return new Data("", "");
    }
    String text = new String(data, StandardCharsets.UTF_8);
    int nl = text.indexOf('\n');
    return nl < 0 ? new Data(text, "") : new Data(text.substring(0, nl), text.substring(nl + 1));
  }

  /** The name part of a full znode path. */
  static String name(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
