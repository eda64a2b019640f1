package io.synod.engine.lock.zk;

import io.synod.api.SynodException;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated lock resource such as {@code pg/accounts/42}: 1 to {@value #SEGMENTS_MAX} segments
 * separated by {@code /}, none empty. Each segment becomes one znode name under the service's root
 * path, so a segment must also be a name ZooKeeper accepts, and must not look like a lock node
 * (those live beside the child resources of the same znode).
 *
 * <p>Characters ZooKeeper refuses in a name are refused here rather than escaped, so that the
 * znode tree reads exactly as the resources do: NUL and control characters ({@code U+0000} to
 * {@code U+001F}, {@code U+007F} to {@code U+009F}), surrogates and private-use characters
 * ({@code U+D800} to {@code U+F8FF}), {@code U+FFF0} to {@code U+FFFF}, and the names {@code .}
 * and {@code ..}.
 */
record ResourcePath(String value, List<String> segments) {
  static final int SEGMENTS_MAX = 16;
  static final int CHARS_MAX = 512;
  private static final String FIELD = "resource";

  ResourcePath {
    assert !segments.isEmpty() && segments.size() <= SEGMENTS_MAX : value;
    assert String.join("/", segments).equals(value) : value;
    segments = List.copyOf(segments);
  }

  /** Parses and validates; a malformed resource is INVALID_ARGUMENT naming {@code resource}. */
  static ResourcePath parse(String resource) {
    if (resource == null) {
      throw SynodException.invalid(FIELD, "is required");
    }
    if (resource.isEmpty()) {
      throw SynodException.invalid(FIELD,
          "must have 1 to " + SEGMENTS_MAX + " segments separated by '/', like 'pg/accounts/42'; "
              + "got an empty string");
    }
    if (resource.length() > CHARS_MAX) {
      throw SynodException.invalid(FIELD,
          "must be at most " + CHARS_MAX + " characters; got " + resource.length());
    }
    String[] parts = resource.split("/", -1);
    if (parts.length > SEGMENTS_MAX) {
      throw SynodException.invalid(FIELD,
          "must have at most " + SEGMENTS_MAX + " segments; got " + parts.length + " in '"
              + resource + "'");
    }
    for (String part : parts) {
      segment(resource, part);
    }
    return new ResourcePath(resource, List.of(parts));
  }

  private static void segment(String resource, String segment) {
    if (segment.isEmpty()) {
      throw SynodException.invalid(FIELD,
          "must not have empty segments (a leading, trailing or doubled '/'); got '" + resource
              + "'");
    }
    if (segment.equals(".") || segment.equals("..")) {
      throw SynodException.invalid(FIELD,
          "segments must not be '.' or '..' (ZooKeeper refuses them); got '" + resource + "'");
    }
    if (segment.startsWith(LockNodes.NAME_PREFIX)
        || segment.startsWith(LockNodes.PROTECTED_PREFIX)) {
      throw SynodException.invalid(FIELD,
          "segments must not start with '" + LockNodes.NAME_PREFIX + "' or '"
              + LockNodes.PROTECTED_PREFIX + "' (reserved for lock nodes); got '" + resource + "'");
    }
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      if (refusedByZooKeeper(c)) {
        throw SynodException.invalid(FIELD,
            String.format("must not contain control, surrogate or private-use characters "
                + "(ZooKeeper refuses them); got U+%04X in '%s'", (int) c, resource));
      }
    }
  }

  /** The same ranges as ZooKeeper's {@code PathUtils.validatePath}. */
  static boolean refusedByZooKeeper(char c) {
    return c <= '\u001f'
        || (c >= '\u007f' && c <= '\u009f')
        || (c >= '\ud800' && c <= '\uf8ff')
        || c >= '\ufff0';
  }

  /** Ancestors top-down: {@code pg}, {@code pg/accounts} for {@code pg/accounts/42}. */
  List<String> ancestors() {
    List<String> out = new ArrayList<>(segments.size() - 1);
    for (int i = 1; i < segments.size(); i++) {
      out.add(String.join("/", segments.subList(0, i)));
    }
    return out;
  }

  /** The resource's znode under {@code rootPath}. */
  String znode(String rootPath) {
    return rootPath + "/" + value;
  }

  @Override
  public String toString() {
    return value;
  }
}
