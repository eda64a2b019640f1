package io.synod.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A closed-loop load: {@code concurrency} threads each run one operation after another until the
 * deadline; latencies after the warm-up are kept exactly (sorted arrays, no bucketing).
 */
final class LoadRun {
  /** One operation of the load; {@code worker} and {@code sequence} make ids unique. */
  interface Operation {
    void run(int worker, long sequence) throws Exception;
  }

  /**
   * What a run measured. {@code cpuMicrosPerOp} is this JVM's CPU time (all threads, user and
   * system) over the measured window divided by the operations in it: the client's and, when
   * synod is embedded, the coordinator's cost per operation; the stores' processes are not in it.
   * {@code machineCpuMicrosPerOp} is the whole machine's busy CPU time (every process, from
   * /proc/stat; NaN where there is none) per operation: with the stores on this machine, the cost
   * of an operation everywhere, and what limits throughput once the cores are busy. {@code
   * jitMillis} is the CPU time the JIT's compiler threads used within the window: more than a few
   * ms means the cell measured the JIT too.
   */
  record Result(int concurrency, long operations, double seconds, double p50Ms, double p99Ms,
      double cpuMicrosPerOp, double machineCpuMicrosPerOp, long jitMillis) {
    double perSecond() {
      return operations / seconds;
    }
  }

  private LoadRun() {}

  static Result run(int concurrency, double warmupSeconds, double seconds, Operation op)
      throws InterruptedException {
    long start = System.nanoTime();
    long measureFrom = start + (long) (warmupSeconds * 1e9);
    long end = measureFrom + (long) (seconds * 1e9);
    List<long[]> latencies = new ArrayList<>();
    int[] counts = new int[concurrency];
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(concurrency);
    Sample[] window = new Sample[2];
    Thread sampler = Thread.ofPlatform().name("load-cpu").start(() -> {
      sleepUntil(measureFrom);
      window[0] = Sample.now();
      sleepUntil(end);
      window[1] = Sample.now();
    });
    for (int w = 0; w < concurrency; w++) {
      long[] mine = new long[1 << 16];
      latencies.add(mine);
      final int worker = w;
      Thread.ofPlatform().name("load-" + w).start(() -> {
        try {
          long[] buf = mine;
          int n = 0;
          for (long seq = 0; ; seq++) {
            long t0 = System.nanoTime();
            if (t0 >= end || failure.get() != null) {
              break;
            }
            op.run(worker, seq);
            long t1 = System.nanoTime();
            if (t0 >= measureFrom && t1 <= end) {
              if (n == buf.length) {
                buf = Arrays.copyOf(buf, n * 2);
                latencies.set(worker, buf);
              }
              buf[n++] = t1 - t0;
            }
          }
          counts[worker] = n;
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        } finally {
          done.countDown();
        }
      });
    }
    done.await();
    sampler.join();
    if (failure.get() != null) {
      throw new IllegalStateException("load operation failed: " + failure.get(), failure.get());
    }
    int total = Arrays.stream(counts).sum();
    long[] all = new long[total];
    int at = 0;
    for (int w = 0; w < concurrency; w++) {
      System.arraycopy(latencies.get(w), 0, all, at, counts[w]);
      at += counts[w];
    }
    Arrays.sort(all);
    Sample from = window[0];
    Sample to = window[1];
    double cpuMicros = total == 0 ? Double.NaN
        : (to.processCpuNanos() - from.processCpuNanos()) / 1e3 / total;
    double machineMicros = total == 0 || from.machineBusyNanos() < 0 || to.machineBusyNanos() < 0
        ? Double.NaN : (to.machineBusyNanos() - from.machineBusyNanos()) / 1e3 / total;
    return new Result(concurrency, total, seconds, percentileMs(all, 0.50), percentileMs(all, 0.99),
        cpuMicros, machineMicros, to.jitCpuMillis() - from.jitCpuMillis());
  }

  /** The CPU counters at one instant; a run reads them where its measured window opens and ends. */
  private record Sample(long processCpuNanos, long machineBusyNanos, long jitCpuMillis) {
    static Sample now() {
      var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
      return new Sample(((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime(),
          LoadRun.machineBusyNanos(), JitWarmup.jitCpuMillis());
    }
  }

  private static void sleepUntil(long nanoTime) {
    long wait;
    while ((wait = nanoTime - System.nanoTime()) > 0) {
      try {
        Thread.sleep(Math.max(1, wait / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
  }

  /**
   * Busy CPU time of the whole machine since boot, in ns: /proc/stat's first line, user, nice,
   * system, irq and softirq (not idle, iowait, or steal, which a hypervisor gave to another guest),
   * at the kernel's USER_HZ of 100 ticks a second; -1 where /proc/stat cannot be read.
   */
  private static long machineBusyNanos() {
    try (var stat = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of("/proc/stat"))) {
      String[] f = stat.readLine().trim().split("\\s+");
      long busy = 0;
      for (int i : new int[] {1, 2, 3, 6, 7}) {
        busy += Long.parseLong(f[i]);
      }
      return busy * 10_000_000L;
    } catch (java.io.IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The {@code q} quantile, in ms, of sorted nanosecond latencies; NaN for none. */
  static double percentileMs(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
    return sorted[Math.max(0, index)] / 1e6;
  }

  static double median(double[] values) {
    double[] copy = values.clone();
    Arrays.sort(copy);
    int mid = copy.length / 2;
    return copy.length % 2 == 1 ? copy[mid] : (copy[mid - 1] + copy[mid]) / 2;
  }
}
