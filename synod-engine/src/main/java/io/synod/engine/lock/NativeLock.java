package io.synod.engine.lock;

import io.synod.api.lock.LockHandle;
import io.synod.api.lock.LockMode;

/** A granted lock of the native service; closing it releases it once. */
final class NativeLock extends LockHandle {
  private final NativeLockSession session;

  NativeLock(NativeLockSession session, String resource, LockMode mode, long token) {
    super(resource, mode, token);
    this.session = session;
  }

  @Override
  protected void release() {
    session.release(this);
  }
}
