package io.synod.kv.tenant;

import io.synod.api.SynodException;
import io.synod.api.kv.Tenant;
import java.util.regex.Pattern;

/**
 * A storage node as the coordinators share it through the {@link TenantStore}: its id on the
 * ring, where its gRPC API listens, and where it stands in a membership change. Every coordinator
 * builds its ring from these rows, so the row is the one place a membership change is decided.
 *
 * @param id the node's id on the ring: 1 to 64 letters, digits, '.', '_' or '-'
 * @param address host:port of the node's gRPC API, 1 to {@value #ADDRESS_CHARS_MAX} characters
 * @param state e.g. {@value #JOINING}, {@value #ACTIVE} or {@value #LEAVING}: lowercase letters
 *     and '_', 1 to {@value #STATE_CHARS_MAX} characters. Not a closed set, so that the membership
 *     code can add states without a schema change.
 * @param tokens the node's points on the ring, as the coordinator encodes them (it chose them
 *     when the node joined, so they are stored, not recomputed); opaque here
 */
public record NodeRecord(String id, String address, String state, String tokens) {
  /** Receiving its ranges; not yet a replica reads are sent to. */
  public static final String JOINING = "joining";
  /** A full member of the ring. */
  public static final String ACTIVE = "active";
  /** Handing its ranges to the nodes that inherit them. */
  public static final String LEAVING = "leaving";

  public static final int ADDRESS_CHARS_MAX = 255;
  public static final int STATE_CHARS_MAX = 32;
  private static final Pattern STATE = Pattern.compile("[a-z][a-z_]{0," + (STATE_CHARS_MAX - 1)
      + "}");

  public NodeRecord {
    Tenant.checkId("node_id", id);
    if (tokens == null) {
      throw SynodException.invalid("tokens", "must be given, empty or not (was missing)");
    }
    if (address == null || address.isBlank() || address.length() > ADDRESS_CHARS_MAX) {
      throw SynodException.invalid("address", "must be host:port, 1 to " + ADDRESS_CHARS_MAX
          + " characters (was " + (address == null ? "missing" : "'" + address + "'") + ")");
    }
    if (state == null || !STATE.matcher(state).matches()) {
      throw SynodException.invalid("state", "must be 1 to " + STATE_CHARS_MAX
          + " lowercase letters or '_', e.g. joining, active, leaving (was "
          + (state == null ? "missing" : "'" + state + "'") + ")");
    }
  }
}
