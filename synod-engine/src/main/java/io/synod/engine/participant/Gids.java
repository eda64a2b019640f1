package io.synod.engine.participant;

import java.util.regex.Pattern;

/**
 * Checks of the gids and gid prefixes the coordinator hands to a participant. A gid is written into
 * SQL text ({@code PREPARE TRANSACTION 'gid'}, {@code XA START 'gid'}, {@code PREPARE COMMIT
 * "gid"}), where it cannot be a bind parameter, so only these characters ever reach a store.
 */
final class Gids {
  /** ASCII letters, digits, '_' and '-': safe in quoted SQL literals and identifiers alike. */
  static final Pattern GID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9_-]{0,64}");

  private Gids() {}

  static String requireGid(String gid) {
    if (gid == null || !GID.matcher(gid).matches()) {
      throw new IllegalArgumentException(
          "gid " + quote(gid) + " must be 1 to 64 ASCII letters, digits, '_' or '-'");
    }
    return gid;
  }

  static String requirePrefix(String prefix) {
    if (prefix == null || !PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException(
          "gid prefix " + quote(prefix) + " must be 0 to 64 ASCII letters, digits, '_' or '-'");
    }
    return prefix;
  }

  private static String quote(String s) {
    return s == null ? "null" : "'" + s + "'";
  }
}
