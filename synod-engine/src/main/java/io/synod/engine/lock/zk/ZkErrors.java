package io.synod.engine.lock.zk;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.zookeeper.KeeperException;

/** The backend's failures in words, each with the code the API documents for it. */
final class ZkErrors {
  private ZkErrors() {}

  static SynodException of(ErrorCode code, String message) {
    return new SynodException(code, (String) null, message);
  }

  /** A Curator background result that is not OK, for {@code action} on {@code path}. */
  static SynodException fromResult(int resultCode, String action, String path) {
    KeeperException.Code code = KeeperException.Code.get(resultCode);
    String what = action + " " + path + " failed: " + code;
    return switch (code) {
      case CONNECTIONLOSS, OPERATIONTIMEOUT, REQUESTTIMEOUT, THROTTLEDOP, NOTREADONLY,
          RECONFIGINPROGRESS -> of(
          ErrorCode.UNAVAILABLE,
          what + "; ZooKeeper did not answer within the retry budget, retry later");
      case SESSIONEXPIRED, SESSIONMOVED, SESSIONCLOSEDREQUIRESASLAUTH -> of(
          ErrorCode.FAILED_PRECONDITION,
          what + "; the session's lease lapsed, open a new session");
      case NONODE -> of(ErrorCode.UNAVAILABLE,
          what + "; the node vanished (lease lapsed, or deleted by an operator), retry");
      case NOAUTH, AUTHFAILED -> of(ErrorCode.FAILED_PRECONDITION,
          what + "; grant this client create/delete/read on the lock root path");
      case QUOTAEXCEEDED -> of(ErrorCode.RESOURCE_EXHAUSTED,
          what + "; the lock root path is over its ZooKeeper quota");
      default -> of(ErrorCode.INTERNAL, what);
    };
  }

  static SynodException unavailable(String action, Throwable cause) {
    return new SynodException(ErrorCode.UNAVAILABLE,
        action + " failed: " + cause + "; ZooKeeper unreachable or the session is closing", cause);
  }

  /** The SynodException inside a future's failure, or INTERNAL around anything else. */
  static SynodException unwrap(Throwable t) {
    Throwable cause = t;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof SynodException e) {
      return e;
    }
    return new SynodException(ErrorCode.INTERNAL, "lock service failure: " + cause, cause);
  }
}
