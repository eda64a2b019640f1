package io.synod.engine.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The operations of one resource, with each session numbered in order of first appearance. An
 * EXPIRE with no resource belongs to every partition where its session appears.
 */
record Partition(String resource, List<Operation> operations, int[] sessions,
    List<String> sessionNames) {

  /** Splits {@code operations} by resource, in first-seen order of resources. */
  static List<Partition> split(List<Operation> operations) {
    Map<String, List<Operation>> byResource = new LinkedHashMap<>();
    Map<String, Set<String>> resourcesOfSession = new HashMap<>();
    for (Operation op : operations) {
      if (op.resource() != null) {
        byResource.computeIfAbsent(op.resource(), r -> new ArrayList<>()).add(op);
        resourcesOfSession.computeIfAbsent(op.session(), s -> new LinkedHashSet<>())
            .add(op.resource());
      }
    }
    for (Operation op : operations) {
      if (op.resource() == null) {
        for (String resource : resourcesOfSession.getOrDefault(op.session(), Set.of())) {
          byResource.get(resource).add(op);
        }
      }
    }
    List<Partition> out = new ArrayList<>();
    byResource.forEach((resource, ops) -> out.add(of(resource, ops)));
    return out;
  }

  /** Orders {@code ops} by invocation, as the search's compact keys want. */
  private static Partition of(String resource, List<Operation> unordered) {
    List<Operation> ops = new ArrayList<>(unordered);
    ops.sort(Comparator.comparingLong(Operation::invokeNanos));
    Map<String, Integer> numbers = new HashMap<>();
    List<String> names = new ArrayList<>();
    int[] sessions = new int[ops.size()];
    for (int i = 0; i < ops.size(); i++) {
      sessions[i] = numbers.computeIfAbsent(ops.get(i).session(), s -> {
        names.add(s);
        return names.size() - 1;
      });
    }
    return new Partition(resource, List.copyOf(ops), sessions, List.copyOf(names));
  }

  int size() {
    return operations.size();
  }
}
