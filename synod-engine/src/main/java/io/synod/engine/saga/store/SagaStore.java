package io.synod.engine.saga.store;

/**
 * A store that runs saga steps exactly once: one per configured store name (and one {@link
 * LocalSagaStore} for the application's in-process handlers; a server adds one for its
 * key-value store, whose barrier is the step's idempotency key in that store's idempotency
 * records rather than a row beside the effect).
 *
 * <p>Every {@link #apply} records the step's barrier in the same local transaction (or atomic
 * script) as the effect, following DTM's "sub-transaction barrier":
 *
 * <pre>
 * call          barrier before                 result           barrier after
 * action        none                           Applied          action=action
 * action        action=action                  AlreadyApplied   (unchanged)
 * action        action=blocked                 Refused          (unchanged)
 * compensation  none                           Skipped          action=blocked, compensation
 * compensation  action=action                  Applied          + compensation
 * compensation  compensation                   AlreadyApplied   (unchanged)
 * any           (failure)                      Failed           (unchanged: nothing applied)
 * </pre>
 *
 * So a retried step or compensation takes effect at most once, a compensation of a step that
 * never ran undoes nothing, and a step that arrives after its compensation (a delayed retry) is
 * refused. A {@link StepResult.Failed} leaves neither effect nor barrier behind, except that a
 * failure while committing (the connection lost) may hide a commit that did happen: the retry then
 * finds the barrier and answers {@link StepResult.AlreadyApplied}.
 *
 * <p>Implementations are thread-safe; {@link #apply} blocks for at most about the call's timeout
 * per statement it sends.
 */
public interface SagaStore extends AutoCloseable {
  /** The store's configured name, used in failure reasons and logs. */
  String name();

  /**
   * Runs one try of a step's action or compensation under its barrier. Never throws for a store
   * failure: that is a {@link StepResult.Failed}, retryable or not.
   */
  StepResult apply(StepCall call);

  /** Releases the store's connections; calls after it fail (retryably). */
  @Override
  void close();
}
