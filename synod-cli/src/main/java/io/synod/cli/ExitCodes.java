package io.synod.cli;

import io.synod.api.SynodException;

/** The exit codes of the commands that talk to a server; each command's help lists its own. */
final class ExitCodes {
  /** Done: committed, found, answered. */
  static final int OK = 0;
  /** The coordination aborted or failed (a result with success=false), or the saga did. */
  static final int NOT_COMMITTED = 1;
  /** Bad input: a missing or malformed file, an invalid option, or INVALID_ARGUMENT. */
  static final int BAD_INPUT = 2;
  /** No server answered within the retry budget (UNAVAILABLE or DEADLINE_EXCEEDED). */
  static final int UNAVAILABLE = 3;
  /** Any other error the server answered with. */
  static final int SERVER_ERROR = 4;
  /** The coordination (or saga) id is unknown. */
  static final int NOT_FOUND = 5;

  private ExitCodes() {}

  static int of(SynodException e) {
    return switch (e.code()) {
      case INVALID_ARGUMENT -> BAD_INPUT;
      case UNAVAILABLE, DEADLINE_EXCEEDED -> UNAVAILABLE;
      case NOT_FOUND -> NOT_FOUND;
      default -> SERVER_ERROR;
    };
  }
}
