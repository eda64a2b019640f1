package io.synod.api.spi;

import java.util.Objects;

/** A participant's answer to prepare. An abort vote is an outcome, not an error. */
public sealed interface Vote {

  /** The local transaction is prepared and durable; the participant can commit it on request. */
  record Commit() implements Vote {}

  /** The participant cannot commit; nothing of the transaction remains prepared there. */
  record Abort(AbortReason reason, String message) implements Vote {
    public Abort {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(message, "message");
    }
  }

  static Vote commit() {
    return COMMIT;
  }

  static Vote abort(AbortReason reason, String message) {
    return new Abort(reason, message);
  }

  Commit COMMIT = new Commit();
}
