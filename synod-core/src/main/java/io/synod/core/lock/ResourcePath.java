package io.synod.core.lock;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A lockable resource: segments separated by {@code /}, for example {@code pg/accounts/42} (store,
 * table, row). Every path that exists is valid: the constructor checks the rules below, so a path
 * held in the table never needs checking again.
 *
 * <p>Rules: 1 to {@value #DEPTH_MAX} segments; no empty segment (no leading, trailing or double
 * {@code /}); no whitespace or control character; at most {@value #CHARS_MAX} characters in all.
 *
 * <p>Ordering is by the path string. Because {@code '/'} is followed by {@code '0'} in UTF-16, the
 * strict descendants of {@code p} are exactly the strings in {@code [p + "/", p + "0")}: the table
 * finds a session's locks under a resource with one range query.
 *
 * <p>A value class rather than a record so that the ancestors of a valid path, valid by
 * construction, are made without checking them again: the lock table walks ancestors on every
 * acquire and release, and re-checking them was a tenth of its apply time.
 */
public final class ResourcePath implements Comparable<ResourcePath> {
  public static final int DEPTH_MAX = 16;
  public static final int CHARS_MAX = 512;
  public static final char SEPARATOR = '/';

  /** The segments joined by {@code /}. */
  private final String path;

  private ResourcePath(String path) {
    this.path = path;
  }

  /** Parses {@code path}; throws IllegalArgumentException with a message naming the rule broken. */
  public static ResourcePath parse(String path) {
    String problem = problem(path);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return new ResourcePath(path);
  }

  /** The segments joined by {@code /}. */
  public String path() {
    return path;
  }

  /** The rule {@code path} breaks, in words, or null if it is a valid resource path. */
  static String problem(String path) {
    if (path == null) {
      return "resource path must not be null";
    }
    if (path.isEmpty()) {
      return "resource path must not be empty";
    }
    if (path.length() > CHARS_MAX) {
      return "resource path is " + path.length() + " characters; the limit is " + CHARS_MAX;
    }
    int segments = 1;
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == SEPARATOR) {
        segments++;
        if (i == 0 || i == path.length() - 1 || path.charAt(i - 1) == SEPARATOR) {
          return "resource path '" + path + "' has an empty segment at index " + i
              + " (segments are separated by a single '/', with none at either end)";
        }
      } else if (Character.isWhitespace(c) || Character.isSpaceChar(c)
          || Character.isISOControl(c)) {
        return String.format(
            "resource path '%s' has whitespace or a control character (U+%04X) at index %d",
            path, (int) c, i);
      }
    }
    if (segments > DEPTH_MAX) {
      return "resource path '" + path + "' has " + segments + " segments; the limit is "
          + DEPTH_MAX;
    }
    return null;
  }

  /** How many segments: 1 for a root such as {@code pg}. */
  public int depth() {
    int depth = 1;
    for (int i = 0; i < path.length(); i++) {
      if (path.charAt(i) == SEPARATOR) {
        depth++;
      }
    }
    return depth;
  }

  public List<String> segments() {
    return List.of(path.split("/"));
  }

  public Optional<ResourcePath> parent() {
    int last = path.lastIndexOf(SEPARATOR);
    return last < 0 ? Optional.empty() : Optional.of(new ResourcePath(path.substring(0, last)));
  }

  /** The first {@code depth} segments: {@code prefix(1)} is the root. */
  public ResourcePath prefix(int depth) {
    if (depth < 1 || depth > depth()) {
      throw new IllegalArgumentException(
          "prefix depth " + depth + " is outside 1.." + depth() + " for " + path);
    }
    int end = -1;
    for (int i = 0; i < depth; i++) {
      end = path.indexOf(SEPARATOR, end + 1);
    }
    return end < 0 ? this : new ResourcePath(path.substring(0, end));
  }

  /** Every strict ancestor, top-down: {@code pg}, {@code pg/accounts} for {@code pg/accounts/1}. */
  public List<ResourcePath> ancestors() {
    List<ResourcePath> ancestors = new ArrayList<>();
    for (int i = path.indexOf(SEPARATOR); i >= 0; i = path.indexOf(SEPARATOR, i + 1)) {
      ancestors.add(new ResourcePath(path.substring(0, i)));
    }
    return ancestors;
  }

  /** True if {@code other} lies strictly below this path. */
  public boolean isAncestorOf(ResourcePath other) {
    return other.path.length() > path.length()
        && other.path.startsWith(path)
        && other.path.charAt(path.length()) == SEPARATOR;
  }

  /** The lowest string of a strict descendant, for range queries: {@code path + "/"}. */
  String descendantsFrom() {
    return path + SEPARATOR;
  }

  /** The string just above every strict descendant, for range queries: {@code path + "0"}. */
  String descendantsTo() {
    return path + (char) (SEPARATOR + 1);
  }

  @Override
  public int compareTo(ResourcePath other) {
    return path.compareTo(other.path);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ResourcePath that && path.equals(that.path);
  }

  @Override
  public int hashCode() {
    return path.hashCode();
  }

  @Override
  public String toString() {
    return path;
  }
}
