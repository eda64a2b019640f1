package io.synod.api.spi;

import io.synod.api.SqlOperation;
import java.time.Duration;
import java.util.List;

/**
 * A store taking part in atomic commit through its own prepared transactions.
 *
 * <p>Global transaction ids ("gids") are made by the coordinator: ASCII letters, digits, '_' and
 * '-', at most 64 characters, so that they are valid for PostgreSQL {@code PREPARE TRANSACTION},
 * MySQL/MariaDB XA gtrids and H2 transaction names alike.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>{@link #prepare} runs the operations in a new local transaction and prepares it under the
 *       gid. It returns {@link Vote.Commit} only once the prepared transaction is durable in the
 *       store. It returns {@link Vote.Abort} with a reason for every failure, and then nothing of
 *       the transaction remains in the store. It never throws for a store-side failure.
 *   <li>{@link #commit} and {@link #rollback} are idempotent: a gid the store no longer knows has
 *       already been resolved. They throw when they could not make sure the gid is resolved: the
 *       store could not be asked, or (MariaDB) the gid is still bound to another live session.
 *       The coordinator retries until they succeed.
 *   <li>{@link #inDoubt} lists the prepared transactions whose gid starts with the prefix.
 * </ul>
 */
public interface Participant extends AutoCloseable {

  /** The store's configured name. */
  String name();

  Vote prepare(String gid, List<SqlOperation> operations, Duration timeout);

  void commit(String gid) throws ParticipantException;

  void rollback(String gid) throws ParticipantException;

  List<String> inDoubt(String gidPrefix) throws ParticipantException;

  /**
   * Checks that the store answers within {@code timeout}, for readiness probes; throws if not.
   * The default asks for the in-doubt list, which every participant can answer.
   */
  default void ping(Duration timeout) throws ParticipantException {
    inDoubt("synod-ping-");
  }

  @Override
  void close();
}
