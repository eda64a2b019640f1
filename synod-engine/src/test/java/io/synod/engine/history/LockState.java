package io.synod.engine.history;

import io.synod.api.lock.LockMode;
import java.util.Arrays;
import java.util.List;

/**
 * The state of one resource in {@link LockModel}: who holds it in which modes, with which token,
 * and the largest token granted on it so far. Immutable, hashed once: the search keeps millions.
 *
 * <p>Holders are parallel arrays sorted by session number (the partition's small integer for a
 * session id), so equal states are equal arrays. A holder's {@code flags} byte is a mask of held
 * modes (bit {@code 1 << mode.ordinal()}) plus {@link #TOKEN_UNKNOWN} when the grant's token was
 * never seen (an acquire with an unknown result); its token is then 0 and means nothing.
 */
final class LockState {
  static final int TOKEN_UNKNOWN = 1 << 4;
  static final int MODES = 0x0f;
  static final LockState EMPTY =
      new LockState(new int[0], new byte[0], new long[0], Long.MIN_VALUE);

  private final int[] sessions;
  private final byte[] flags;
  private final long[] tokens;
  private final long lastToken;
  private final int hash;

  private LockState(int[] sessions, byte[] flags, long[] tokens, long lastToken) {
    this.sessions = sessions;
    this.flags = flags;
    this.tokens = tokens;
    this.lastToken = lastToken;
    this.hash = 31 * (31 * (31 * Arrays.hashCode(sessions) + Arrays.hashCode(flags))
        + Arrays.hashCode(tokens)) + Long.hashCode(lastToken);
  }

  /** Long.MIN_VALUE until the first grant. */
  long lastToken() {
    return lastToken;
  }

  int holders() {
    return sessions.length;
  }

  int session(int holder) {
    return sessions[holder];
  }

  int flags(int holder) {
    return flags[holder];
  }

  long token(int holder) {
    return tokens[holder];
  }

  /** The holder index of {@code session}, or a negative number. */
  int find(int session) {
    return Arrays.binarySearch(sessions, session);
  }

  /** The state where {@code session} holds {@code newFlags} with {@code token}. */
  LockState with(int session, int newFlags, long token, long newLastToken) {
    int at = find(session);
    int[] s;
    byte[] f;
    long[] t;
    if (at >= 0) {
      s = sessions;
      f = flags.clone();
      t = tokens.clone();
    } else {
      at = -at - 1;
      s = insert(sessions, at, session);
      f = new byte[flags.length + 1];
      t = new long[tokens.length + 1];
      System.arraycopy(flags, 0, f, 0, at);
      System.arraycopy(flags, at, f, at + 1, flags.length - at);
      System.arraycopy(tokens, 0, t, 0, at);
      System.arraycopy(tokens, at, t, at + 1, tokens.length - at);
    }
    f[at] = (byte) newFlags;
    t[at] = token;
    return new LockState(s, f, t, newLastToken);
  }

  /** {@code session} holds nothing: the same state if it held nothing. */
  LockState without(int session) {
    int at = find(session);
    if (at < 0) {
      return this;
    }
    int n = sessions.length - 1;
    int[] s = new int[n];
    byte[] f = new byte[n];
    long[] t = new long[n];
    System.arraycopy(sessions, 0, s, 0, at);
    System.arraycopy(sessions, at + 1, s, at, n - at);
    System.arraycopy(flags, 0, f, 0, at);
    System.arraycopy(flags, at + 1, f, at, n - at);
    System.arraycopy(tokens, 0, t, 0, at);
    System.arraycopy(tokens, at + 1, t, at, n - at);
    return new LockState(s, f, t, lastToken);
  }

  private static int[] insert(int[] array, int at, int value) {
    int[] out = new int[array.length + 1];
    System.arraycopy(array, 0, out, 0, at);
    out[at] = value;
    System.arraycopy(array, at, out, at + 1, array.length - at);
    return out;
  }

  static int bit(LockMode mode) {
    return 1 << mode.ordinal();
  }

  /** {@code holders {s-1: X token 40, s-2: S token ?>12}, last token 40}, with session names. */
  String describe(List<String> sessionNames) {
    StringBuilder out = new StringBuilder("holders {");
    for (int i = 0; i < sessions.length; i++) {
      out.append(i == 0 ? "" : ", ").append(sessionNames.get(sessions[i])).append(':');
      for (LockMode mode : LockMode.values()) {
        if ((flags[i] & bit(mode)) != 0) {
          out.append(' ').append(mode);
        }
      }
      if ((flags[i] & TOKEN_UNKNOWN) == 0) {
        out.append(" token ").append(tokens[i]);
      } else {
        out.append(" token unknown");
      }
    }
    out.append("}, last token ").append(lastToken == Long.MIN_VALUE ? "none" : lastToken);
    return out.toString();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof LockState that
        && hash == that.hash
        && lastToken == that.lastToken
        && Arrays.equals(sessions, that.sessions)
        && Arrays.equals(flags, that.flags)
        && Arrays.equals(tokens, that.tokens);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
