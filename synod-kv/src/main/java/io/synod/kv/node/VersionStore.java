package io.synod.kv.node;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.StatusRuntimeException;
import io.synod.api.kv.Versioned;
import io.synod.core.kv.Siblings;
import io.synod.kv.proto.Version;
import io.synod.kv.proto.VersionList;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteOptions;

/**
 * A storage node's keys and their siblings, in RocksDB.
 *
 * <p>Layout: one RocksDB entry per key, sorted bytewise, so a scan visits tenants and within each
 * its keys in order (a tenant sorts before any tenant it is a prefix of, as 0x00 is the least
 * byte):
 *
 * <pre>
 *   key:   +-------------------+------+----------------+
 *          | tenant id (UTF-8) | 0x00 | key (UTF-8)    |   tenant ids never contain 0x00
 *          +-------------------+------+----------------+
 *   value: VersionList protobuf: the siblings, in Siblings.TIEBREAK order
 * </pre>
 *
 * <p>Merging: {@link #put} reads the siblings, folds each incoming version in with {@link
 * Siblings#add} (the one merge rule of the store), and writes back only if that changed them.
 * Read-modify-write is atomic per key through 256 lock stripes chosen by the key's hash: writes
 * to different keys rarely wait for each other, two writes to one key never interleave. Reads
 * take no stripe: a RocksDB get sees one whole value.
 *
 * <p>Durability: every write goes through RocksDB's write-ahead log, which is never disabled. The
 * WAL record reaches the operating system before {@code put} returns, so an acknowledged write
 * survives the process being killed; with {@code syncWrites} it is also fsynced, and survives a
 * power loss.
 *
 * <p>Closing: RocksDB must not be used after it is closed (that would crash the JVM, not throw),
 * so every operation runs under the read side of a lifecycle lock and {@link #close} takes the
 * write side: it waits for operations in flight, and later ones fail with IllegalStateException.
 */
public final class VersionStore implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  private static final int LOCK_STRIPES = 256;
  private static final byte SEPARATOR = 0;
  /** RocksDB's info logs (LOG, LOG.old.*) kept in the data directory; one is added per open. */
  private static final int INFO_LOG_FILES_KEPT = 5;

  /** What a put left: the key's siblings, and whether the put changed them. */
  public record PutOutcome(List<Versioned> siblings, boolean changed) {
    public PutOutcome {
      siblings = List.copyOf(siblings);
    }
  }

  private final Path dir;
  private final Options options;
  private final WriteOptions writeOptions;
  private final RocksDB db;
  private final ReentrantLock[] stripes = new ReentrantLock[LOCK_STRIPES];
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  /** Set under the lifecycle write lock, read under its read lock. */
  private boolean closed;
  /** Set before close waits, so that long loops (tombstone collection) stop early. */
  private volatile boolean closing;

  private VersionStore(Path dir, Options options, WriteOptions writeOptions, RocksDB db) {
    this.dir = dir;
    this.options = options;
    this.writeOptions = writeOptions;
    this.db = db;
    for (int i = 0; i < LOCK_STRIPES; i++) {
      stripes[i] = new ReentrantLock();
    }
  }

  /**
   * Opens (creating if needed) the store in {@code dir}. {@code syncWrites} fsyncs the WAL on
   * every write: slower, and needed only to survive losing the machine rather than the process.
   */
  public static VersionStore open(Path dir, boolean syncWrites) {
    Objects.requireNonNull(dir, "dir");
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new VersionStoreException("cannot create the version store directory " + dir + ": "
          + e, e);
    }
    Options options = new Options().setCreateIfMissing(true).setKeepLogFileNum(INFO_LOG_FILES_KEPT);
    WriteOptions writeOptions = new WriteOptions().setSync(syncWrites);
    try {
      return new VersionStore(dir, options, writeOptions, RocksDB.open(options, dir.toString()));
    } catch (RocksDBException e) {
      writeOptions.close();
      options.close();
      throw new VersionStoreException("cannot open the version store in " + dir + ": "
          + e.getMessage(), e);
    }
  }

  /** Folds {@code versions} into the key's siblings; writes only if they changed. */
  public PutOutcome put(String tenantId, String key, List<Versioned> versions) {
    byte[] k = encodeKey(tenantId, key);
    return guarded("write " + describe(tenantId, key), () -> {
      ReentrantLock stripe = stripe(k);
      stripe.lock();
      try {
        List<Versioned> current = read(k);
        List<Versioned> next = current;
        for (Versioned v : versions) {
          next = Siblings.add(next, Objects.requireNonNull(v, "version"));
        }
        if (next == current) { // Siblings.add answers its input when it ignores a version
          return new PutOutcome(current, false);
        }
        List<Versioned> sorted = new ArrayList<>(next);
        sorted.sort(Siblings.TIEBREAK);
        db.put(writeOptions, k, encodeValue(sorted));
        return new PutOutcome(sorted, true);
      } finally {
        stripe.unlock();
      }
    });
  }

  /** The key's siblings; empty if it was never written, dropped, or its tombstones collected. */
  public List<Versioned> get(String tenantId, String key) {
    byte[] k = encodeKey(tenantId, key);
    return guarded("read " + describe(tenantId, key), () -> read(k));
  }

  /**
   * Gives {@code each} the keys after ({@code afterTenantId}, {@code afterKey}) in key order, at
   * most {@code limit} of them (0: all). An empty {@code afterTenantId} starts at the first key.
   * The keys come from one snapshot. {@code each} runs while the store is in use and must not
   * close it.
   *
   * @return how many keys {@code each} was given
   */
  public int scan(String afterTenantId, String afterKey, int limit, Consumer<KeyEntry> each) {
    Objects.requireNonNull(afterTenantId, "afterTenantId");
    Objects.requireNonNull(afterKey, "afterKey");
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be 0 (no limit) or more: " + limit);
    }
    return guarded("scan", () -> {
      try (ReadOptions read = new ReadOptions().setFillCache(false);
          RocksIterator it = db.newIterator(read)) {
        seekAfter(it, afterTenantId, afterKey);
        int given = 0;
        for (; it.isValid() && (limit == 0 || given < limit); it.next()) {
          if (closing) {
            throw new IllegalStateException("version store in " + dir + " closed during a scan");
          }
          each.accept(entry(it.key(), it.value()));
          given++;
        }
        it.status();
        return given;
      }
    });
  }

  /**
   * Deletes each key whose siblings are still exactly the ones given (in any order); a key that
   * changed since (a newer write arrived) stays.
   *
   * @return how many keys were deleted
   */
  public long drop(List<KeyEntry> keys) {
    return guarded("drop keys", () -> {
      long dropped = 0;
      for (KeyEntry entry : keys) {
        byte[] k = encodeKey(entry.tenantId(), entry.key());
        ReentrantLock stripe = stripe(k);
        stripe.lock();
        try {
          List<Versioned> current = read(k);
          if (!current.isEmpty()
              && new HashSet<>(current).equals(new HashSet<>(entry.versions()))) {
            db.delete(writeOptions, k);
            dropped++;
          }
        } finally {
          stripe.unlock();
        }
      }
      return dropped;
    });
  }

  /**
   * Deletes the keys whose siblings are all tombstones written before {@code nowMillis - grace}:
   * by then every replica has had the grace period to learn of the delete (through writes, read
   * repair or migration), so forgetting it cannot bring an older value back. Stops early, with
   * what it collected so far, when the store is closing.
   *
   * @return how many keys were deleted
   */
  public long collectTombstones(long nowMillis, Duration grace) {
    if (grace.isNegative()) {
      throw new IllegalArgumentException("grace must not be negative: " + grace);
    }
    long cutoffMillis = nowMillis - grace.toMillis();
    return guarded("collect tombstones", () -> {
      long collected = 0;
      try (ReadOptions read = new ReadOptions().setFillCache(false);
          RocksIterator it = db.newIterator(read)) {
        for (it.seekToFirst(); it.isValid() && !closing; it.next()) {
          byte[] k = it.key();
          if (allTombstonesBefore(decodeValue(k, it.value()), cutoffMillis)
              && deleteIfCollectable(k, cutoffMillis)) {
            collected++;
          }
        }
        it.status();
      }
      return collected;
    });
  }

  /** RocksDB's estimate of how many keys the store holds (exact only after compaction). */
  public long estimatedKeys() {
    return guarded("read the key estimate", () -> db.getLongProperty("rocksdb.estimate-num-keys"));
  }

  public Path dir() {
    return dir;
  }

  /** Waits for operations in flight, syncs the WAL and closes RocksDB; later calls fail. */
  @Override
  public void close() {
    closing = true;
    lifecycle.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      try {
        db.syncWal();
        db.closeE();
      } catch (RocksDBException e) {
        throw new VersionStoreException("closing the version store in " + dir + " failed: "
            + e.getMessage(), e);
      } finally {
        db.close(); // a no-op once closeE got through; frees the handle if syncWal failed
        writeOptions.close();
        options.close();
      }
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  private boolean deleteIfCollectable(byte[] k, long cutoffMillis) throws RocksDBException {
    ReentrantLock stripe = stripe(k);
    stripe.lock();
    try {
      // Checked again under the key's lock: a write may have come in since the iterator's snapshot.
      if (!allTombstonesBefore(read(k), cutoffMillis)) {
        return false;
      }
      db.delete(writeOptions, k);
      return true;
    } finally {
      stripe.unlock();
    }
  }

  private static boolean allTombstonesBefore(List<Versioned> siblings, long cutoffMillis) {
    if (siblings.isEmpty()) {
      return false;
    }
    for (Versioned v : siblings) {
      if (!v.tombstone() || v.timestampMillis() >= cutoffMillis) {
        return false;
      }
    }
    return true;
  }

  private void seekAfter(RocksIterator it, String afterTenantId, String afterKey) {
    if (afterTenantId.isEmpty()) {
      it.seekToFirst();
      return;
    }
    byte[] after = join(afterTenantId, afterKey);
    it.seek(after);
    if (it.isValid() && Arrays.equals(it.key(), after)) {
      it.next();
    }
  }

  private List<Versioned> read(byte[] k) throws RocksDBException {
    byte[] value = db.get(k);
    return value == null ? List.of() : decodeValue(k, value);
  }

  private ReentrantLock stripe(byte[] k) {
    int h = Arrays.hashCode(k);
    return stripes[(h ^ (h >>> 16)) & (LOCK_STRIPES - 1)];
  }

  private interface RocksCall<T> {
    T run() throws RocksDBException;
  }

  private <T> T guarded(String what, RocksCall<T> call) {
    lifecycle.readLock().lock();
    try {
      if (closed) {
        throw new IllegalStateException("version store in " + dir + " is closed");
      }
      return call.run();
    } catch (RocksDBException e) {
      throw new VersionStoreException("cannot " + what + " in " + dir + ": " + e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  static byte[] encodeKey(String tenantId, String key) {
    if (tenantId.isEmpty() || tenantId.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("tenant id must be non-empty and without NUL: '"
          + tenantId + "'");
    }
    if (key.isEmpty()) {
      throw new IllegalArgumentException("key must not be empty");
    }
    return join(tenantId, key);
  }

  private static byte[] join(String tenantId, String key) {
    byte[] t = tenantId.getBytes(StandardCharsets.UTF_8);
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[t.length + 1 + k.length];
    System.arraycopy(t, 0, out, 0, t.length);
    out[t.length] = SEPARATOR;
    System.arraycopy(k, 0, out, t.length + 1, k.length);
    return out;
  }

  private KeyEntry entry(byte[] k, byte[] value) {
    int sep = indexOfSeparator(k);
    if (sep < 0) {
      throw new VersionStoreException("corrupt key in " + dir + " (no separator): "
          + Arrays.toString(k), null);
    }
    String tenantId = new String(k, 0, sep, StandardCharsets.UTF_8);
    String key = new String(k, sep + 1, k.length - sep - 1, StandardCharsets.UTF_8);
    return new KeyEntry(tenantId, key, decodeValue(k, value));
  }

  private static int indexOfSeparator(byte[] k) {
    for (int i = 0; i < k.length; i++) {
      if (k[i] == SEPARATOR) {
        return i;
      }
    }
    return -1;
  }

  private static byte[] encodeValue(List<Versioned> siblings) {
    VersionList.Builder list = VersionList.newBuilder();
    for (Versioned v : siblings) {
      list.addVersions(VersionMapping.toProto(v));
    }
    return list.build().toByteArray();
  }

  private List<Versioned> decodeValue(byte[] k, byte[] value) {
    try {
      List<Versioned> out = new ArrayList<>();
      for (Version v : VersionList.parseFrom(value).getVersionsList()) {
        out.add(VersionMapping.fromProto(v, "stored version"));
      }
      return out;
    } catch (InvalidProtocolBufferException | StatusRuntimeException e) {
      throw new VersionStoreException("corrupt value in " + dir + " under key "
          + new String(k, StandardCharsets.UTF_8).replace('\0', '/') + ": " + e.getMessage(), e);
    }
  }

  private static String describe(String tenantId, String key) {
    return "key '" + key + "' of tenant '" + tenantId + "'";
  }
}
