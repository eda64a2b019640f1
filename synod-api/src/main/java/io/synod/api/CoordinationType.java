package io.synod.api;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What kind of coordination a request asks for (spec 001 {@code CoordinationType}). */
public enum CoordinationType {
  TWO_PHASE_COMMIT("two_phase_commit"),
  SAGA_ORCHESTRATION("saga_orchestration"),
  SAGA_CHOREOGRAPHY("saga_choreography"),
  EVENT_SOURCING("event_sourcing"),
  EVENTUAL_CONSISTENCY("eventual_consistency");

  private final String wireName;

  CoordinationType(String wireName) {
    this.wireName = wireName;
  }

  /** The name used on the wire and in configuration, for example {@code two_phase_commit}. */
  public String wireName() {
    return wireName;
  }

  /** Parses a wire name; the error names the field and the accepted values. */
  public static CoordinationType fromWire(String field, String value) {
    for (CoordinationType type : values()) {
      if (type.wireName.equals(value)) {
        return type;
      }
    }
    throw SynodException.invalid(
        field,
        "must be one of "
            + Arrays.stream(values()).map(CoordinationType::wireName).collect(Collectors.joining(", "))
            + "; got '" + value + "'");
  }
}
