package io.synod.client;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockStatus;
import io.synod.proto.v1.LockHolder;
import io.synod.proto.v1.LockStatusResponse;
import io.synod.proto.v1.LockWaiter;
import io.synod.proto.v1.LostLock;
import io.synod.proto.v1.LostReason;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts the lock API's records to the messages of {@code synod/v1/locks.proto} and back, for
 * the server and the client alike. Errors travel as in {@link ProtoMapping#toStatus}.
 */
public final class LockProtoMapping {
  private LockProtoMapping() {}

  public static io.synod.proto.v1.LockMode toProto(LockMode mode) {
    return io.synod.proto.v1.LockMode.valueOf(mode.name());
  }

  /** A mode from the wire; {@code field} names it in the error for a missing or unknown one. */
  public static LockMode fromProto(io.synod.proto.v1.LockMode mode, String field) {
    return switch (mode) {
      case LOCK_MODE_UNSPECIFIED -> throw SynodException.invalid(field,
          "is required: IS, IX, S or X");
      case UNRECOGNIZED -> throw SynodException.invalid(field, "must be IS, IX, S or X");
      default -> LockMode.valueOf(mode.name());
    };
  }

  public static LostLock toProto(LockLost lost) {
    return LostLock.newBuilder()
        .setResource(lost.resource())
        .setFencingToken(lost.fencingToken())
        .setReason(LostReason.valueOf(lost.reason().name()))
        .build();
  }

  /** A lost-lock notice from the wire; an unknown reason (a newer server's) reads as expiry. */
  public static LockLost fromProto(LostLock lost) {
    LockLost.Reason reason = switch (lost.getReason()) {
      case SESSION_CLOSED -> LockLost.Reason.SESSION_CLOSED;
      case ESCALATED -> LockLost.Reason.ESCALATED;
      default -> LockLost.Reason.LEASE_EXPIRED;
    };
    return new LockLost(lost.getResource(), lost.getFencingToken(), reason);
  }

  public static LockStatusResponse toProto(LockStatus status) {
    LockStatusResponse.Builder proto = LockStatusResponse.newBuilder()
        .setResource(status.resource());
    for (LockStatus.Holder h : status.holders()) {
      proto.addHolders(LockHolder.newBuilder()
          .setSessionId(h.sessionId())
          .setOwner(h.owner())
          .setMode(toProto(h.mode()))
          .setFencingToken(h.fencingToken()));
    }
    for (LockStatus.Waiter w : status.waiters()) {
      proto.addWaiters(LockWaiter.newBuilder()
          .setSessionId(w.sessionId())
          .setOwner(w.owner())
          .setMode(toProto(w.mode())));
    }
    return proto.build();
  }

  public static LockStatus fromProto(LockStatusResponse proto) {
    List<LockStatus.Holder> holders = new ArrayList<>();
    for (LockHolder h : proto.getHoldersList()) {
      holders.add(new LockStatus.Holder(h.getSessionId(), h.getOwner(),
          serverMode(h.getMode()), h.getFencingToken()));
    }
    List<LockStatus.Waiter> waiters = new ArrayList<>();
    for (LockWaiter w : proto.getWaitersList()) {
      waiters.add(new LockStatus.Waiter(w.getSessionId(), w.getOwner(), serverMode(w.getMode())));
    }
    return new LockStatus(proto.getResource(), holders, waiters);
  }

  /** A mode the server sent: one this client does not know is the server's error, not ours. */
  static LockMode serverMode(io.synod.proto.v1.LockMode mode) {
    return switch (mode) {
      case LOCK_MODE_UNSPECIFIED, UNRECOGNIZED -> throw new SynodException(ErrorCode.INTERNAL,
          null, "the server sent a lock without a known mode: " + mode);
      default -> LockMode.valueOf(mode.name());
    };
  }
}
