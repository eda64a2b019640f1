package io.synod.server.http;

import io.synod.api.SynodException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Percent-decoding of request paths and queries, one way for every route. The HTTP server
 * already refuses a request line with a malformed escape ({@code %zz}, a lone {@code %}); should
 * one get through, it is bad input naming the field, not a server error.
 */
final class PathCodec {
  private PathCodec() {}

  /** A path segment: '+' stays a plus (only a query turns it into a space). */
  static String segment(String raw, String field) {
    return decode(raw.replace("+", "%2B"), field, "in the path");
  }

  /** A query parameter's name or value: '+' is a space, as forms send it. */
  static String query(String raw, String field) {
    return decode(raw, field, "in the query");
  }

  private static String decode(String raw, String field, String where) {
    try {
      return URLDecoder.decode(raw, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw SynodException.invalid(field, "is not validly percent-encoded " + where + ": "
          + e.getMessage());
    }
  }
}
