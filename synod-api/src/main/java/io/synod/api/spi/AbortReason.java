package io.synod.api.spi;

/** Why a participant voted to abort. */
public enum AbortReason {
  /** A unique, foreign-key, check or not-null constraint refused a write. */
  CONSTRAINT_VIOLATION,
  /** A lock could not be had in time. */
  LOCK_TIMEOUT,
  /** The store ran out of something: connections, memory, disk. */
  RESOURCE_EXHAUSTED,
  /** A serialization failure or deadlock with another transaction. */
  CONFLICT,
  /** The participant did not answer within the participant response or prepare timeout. */
  TIMEOUT,
  /** The operation itself is wrong: a syntax error, an unknown table, a parameter of the wrong type. */
  INVALID_OPERATION,
  /** The store could not be reached. */
  UNAVAILABLE
}
