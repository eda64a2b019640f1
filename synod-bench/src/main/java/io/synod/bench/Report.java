package io.synod.bench;

import java.util.Map;

/**
 * The closing table of a benchmark: per concurrency and mode, the medians over rounds of
 * throughput, p50, p99, this JVM's and the machine's CPU per operation, and each mode's ratio to
 * the baseline's throughput. Cells are {@code cells[mode][concurrencyIndex * rounds + round] =
 * {ops/s, p50, p99, cpu us, machine cpu us}}; see {@link #cell}.
 */
final class Report {
  private Report() {}

  /** Prints the table, the footnote, and last {@code ratio at C: X} for {@code subject}. */
  static void print(Map<String, double[][]> cells, int[] concurrency, int rounds, String baseline,
      String subject, String footnote) {
    table(cells, concurrency, rounds, baseline);
    System.out.println(footnote);
    int last = lastIndex(concurrency);
    System.out.printf("ratio at %d: %.2f%n", concurrency[last],
        median(cells.get(subject), last, rounds)[0] / median(cells.get(baseline), last, rounds)[0]);
  }

  /** The cell of one measured run. */
  static double[] cell(LoadRun.Result r) {
    return new double[] {r.perSecond(), r.p50Ms(), r.p99Ms(), r.cpuMicrosPerOp(),
        r.machineCpuMicrosPerOp()};
  }

  static void table(Map<String, double[][]> cells, int[] concurrency, int rounds,
      String baseline) {
    System.out.printf("%n%-12s %-6s %10s %9s %9s %10s %12s %8s%n", "concurrency", "mode", "ops/s",
        "p50 ms", "p99 ms", "cpu us/op", "machine us", "ratio");
    for (int i = 0; i < concurrency.length; i++) {
      double base = median(cells.get(baseline), i, rounds)[0];
      for (var mode : cells.entrySet()) {
        double[] m = median(mode.getValue(), i, rounds);
        String ratio = mode.getKey().equals(baseline) ? "" : String.format("%8.2f", m[0] / base);
        System.out.printf("%-12d %-6s %10.0f %9.2f %9.2f %10.0f %12.0f %s%n", concurrency[i],
            mode.getKey(), m[0], m[1], m[2], m[3], m[4], ratio);
      }
    }
  }

  /** The cell of concurrency 32 if measured, else the last one. */
  static int lastIndex(int[] concurrency) {
    for (int i = 0; i < concurrency.length; i++) {
      if (concurrency[i] == 32) {
        return i;
      }
    }
    return concurrency.length - 1;
  }

  /** Each metric's median over the rounds of one concurrency. */
  static double[] median(double[][] cells, int concurrencyIndex, int rounds) {
    double[] out = new double[5];
    for (int metric = 0; metric < out.length; metric++) {
      double[] values = new double[rounds];
      for (int round = 0; round < rounds; round++) {
        values[round] = cells[concurrencyIndex * rounds + round][metric];
      }
      out[metric] = LoadRun.median(values);
    }
    return out;
  }
}
