package io.synod.api.lock;

import java.util.List;

/** A resource's holders and its FIFO queue of waiters, oldest first. */
public record LockStatus(String resource, List<Holder> holders, List<Waiter> waiters) {

  public LockStatus {
    holders = List.copyOf(holders);
    waiters = List.copyOf(waiters);
  }

  public record Holder(String sessionId, String owner, LockMode mode, long fencingToken) {}

  public record Waiter(String sessionId, String owner, LockMode mode) {}
}
