package io.synod.kv.node;

/**
 * RocksDB failed to read or write, or a stored value could not be decoded. The node answers it
 * as INTERNAL with this message: the request may be retried, perhaps on another replica.
 */
public final class VersionStoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public VersionStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
