package io.synod.api.event;

import java.time.Duration;

/**
 * One step of a choreographed saga: the service that owns it listens for {@code on}, does its
 * work and answers {@code done} (or {@code failed}); synod asks it to undo with {@code
 * compensate}. Every event of the saga carries its correlation id.
 *
 * @param name unique within the saga; lower-case letters, digits, '_' and '-'
 * @param on the event type asking the service to act. Synod publishes it when the step's turn
 *     comes, unless it is the previous step's {@code done}: then the service before already
 *     published it, and synod only starts the step's clock
 * @param done the event type the service publishes when it finished the step
 * @param failed the event type it publishes when it could not do it; null if it never does
 * @param compensate the event type synod publishes to ask the service to undo the step; null for
 *     a step with nothing to undo
 * @param timeout how long synod waits for {@code done} or {@code failed} after {@code on}
 */
public record ChoreographyStep(String name, String on, String done, String failed,
    String compensate, Duration timeout) {}
