package io.synod.kv.idempotency;

import io.synod.api.kv.KvWriteResult;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * Remembers the writes that carried an idempotency key, so that a retry of one returns the first
 * write's response instead of writing again (spec 004, steps 2 and 9 of a write).
 *
 * <p>The coordinator brackets a write with it:
 *
 * <pre>{@code
 * switch (store.claim(tenant, key, fingerprint, retention)) {
 *   case Claim.First f -> {      // this call owns the key: write, then complete or release
 *     try { result = write(); } catch (RuntimeException e) { store.release(tenant, key); throw e; }
 *     store.complete(tenant, key, result, retention);
 *   }
 *   case Claim.Done d -> result = d.duplicateResponse();
 *   case Claim.InProgress p -> // ABORTED: the first try is still running; retry later
 *   case Claim.Mismatch m ->   // INVALID_ARGUMENT naming idempotency_key
 * }
 * }</pre>
 *
 * <p>An unfinished claim holds the key for a lease ({@link #DEFAULT_LEASE}, set per store), after
 * which a retry takes it over: a coordinator that crashed mid-write does not block its retries for
 * a day. The lease must be well above the write timeout; a write still running when its lease ends
 * could otherwise run next to its retry. A completed key is kept for the retention given to {@link
 * #complete} ({@link #DEFAULT_RETENTION} unless configured), then forgotten.
 *
 * <p>Arguments are checked: INVALID_ARGUMENT names {@code tenant_id}, {@code idempotency_key},
 * {@code fingerprint} or {@code retention}. A store that cannot be reached answers UNAVAILABLE.
 */
public interface IdempotencyStore extends AutoCloseable {
  /** How long a completed key is remembered unless configured otherwise. */
  Duration DEFAULT_RETENTION = Duration.ofHours(24);
  /** The longest retention a store accepts. */
  Duration RETENTION_MAX = Duration.ofDays(30);
  /** How long a claim not yet completed holds its key unless configured otherwise. */
  Duration DEFAULT_LEASE = Duration.ofSeconds(30);
  /** The longest idempotency key, in characters. */
  int IDEMPOTENCY_KEY_CHARS_MAX = 256;
  /** The longest fingerprint, in characters ({@link #fingerprint} makes 64). */
  int FINGERPRINT_CHARS_MAX = 128;

  /** What {@link #claim} found. */
  sealed interface Claim {
    /** The key was free (or its claim had expired): this caller owns it now. */
    record First() implements Claim {}

    /** The key's write completed: {@code firstResponse} is its response, as it was stored. */
    record Done(KvWriteResult firstResponse) implements Claim {
      public Done {
        Objects.requireNonNull(firstResponse, "firstResponse");
      }

      /** The response to answer this repeat with: the first one, marked as a duplicate. */
      public KvWriteResult duplicateResponse() {
        return firstResponse.asDuplicate();
      }
    }

    /** Another caller owns the key and has not completed; its lease ends within the lease. */
    record InProgress() implements Claim {}

    /** The key was used for a different request (another fingerprint): refuse this one. */
    record Mismatch() implements Claim {}
  }

  /** What {@link #peek} found holding a key. */
  sealed interface Held {
    /** The fingerprint of the request that holds the key. */
    String fingerprint();

    /** Claimed and not completed, within its lease. */
    record Claimed(String fingerprint) implements Held {
      public Claimed {
        Objects.requireNonNull(fingerprint, "fingerprint");
      }
    }

    /** Completed: {@code response} is the stored response of the request that holds it. */
    record Completed(String fingerprint, KvWriteResult response) implements Held {
      public Completed {
        Objects.requireNonNull(fingerprint, "fingerprint");
        Objects.requireNonNull(response, "response");
      }
    }
  }

  /**
   * Claims {@code idempotencyKey} of the tenant for the request with {@code requestFingerprint}:
   * First if it was free, else what the first request with this key left (Done, InProgress, or
   * Mismatch when that request's fingerprint differs). {@code retention} bounds how long the key
   * is kept; the claim itself lasts the store's lease or the retention, whichever is shorter.
   */
  Claim claim(String tenantId, String idempotencyKey, String requestFingerprint,
      Duration retention);

  /**
   * Stores the response of the write this caller claimed, kept for {@code retention}. If the
   * claim had expired and the key is gone, the response is not stored (logged as a warning).
   */
  void complete(String tenantId, String idempotencyKey, KvWriteResult response,
      Duration retention);

  /** Drops this caller's unfinished claim after its write failed, so a retry can run at once. */
  void release(String tenantId, String idempotencyKey);

  /**
   * What holds {@code idempotencyKey} of the tenant now, without claiming or changing it: empty
   * when nothing does (never claimed, released, or expired). {@link #claim} answers {@link
   * Claim.Mismatch} alike for a claim and a completed write of another request; a caller that
   * must tell them apart, and whose request it was, asks here: the coordinator, to tell a key
   * fenced by a saga's compensation from a key of another write, and a fence whether the action
   * it fences completed.
   */
  Optional<Held> peek(String tenantId, String idempotencyKey);

  /** Releases the store's connections. */
  @Override
  void close();

  /**
   * A fingerprint of a write or delete: SHA-256, in hex, of the operation, the key and the value
   * (null for a delete), each length-prefixed so that no two requests share their bytes.
   */
  static String fingerprint(String operation, String key, byte[] value) {
    Objects.requireNonNull(operation, "operation");
    Objects.requireNonNull(key, "key");
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (byte[] part : new byte[][] {operation.getBytes(StandardCharsets.UTF_8),
          key.getBytes(StandardCharsets.UTF_8)}) {
        sha.update(ByteBuffer.allocate(4).putInt(part.length).array());
        sha.update(part);
      }
      sha.update(ByteBuffer.allocate(4).putInt(value == null ? -1 : value.length).array());
      if (value != null) {
        sha.update(value);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
