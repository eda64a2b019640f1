package io.synod.api.saga;

/**
 * One step's progress.
 *
 * @param attempts tries of the action so far
 * @param compensationAttempts tries of the compensation so far
 * @param lastError the last failure's message, or null
 * @param updatedAtMs when its state last changed (leader time, as logged)
 */
public record StepStatus(String name, StepState state, int attempts, int compensationAttempts,
    String lastError, long updatedAtMs) {}
