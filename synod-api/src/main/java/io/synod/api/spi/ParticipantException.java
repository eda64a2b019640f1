package io.synod.api.spi;

/** A participant could not be asked to commit, roll back or list; the caller retries. */
public class ParticipantException extends Exception {
  private static final long serialVersionUID = 1L;

  public ParticipantException(String message, Throwable cause) {
    super(message, cause);
  }
}
