package io.synod.bench;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * Runs a benchmark's modes unmeasured until the JIT has settled: pass after pass until the
 * compiler threads used less CPU in one pass than {@link #QUIET_SHARE} of its length, or the time
 * allowed is spent.
 *
 * <p>A fixed warm-up was not enough: with Ratis, gRPC and the JDBC driver on the synod path, C2
 * was still compiling (a fifth of a core) through the first measured rounds while the baseline,
 * a few small methods, had long been compiled; the rounds then measured the JIT.
 */
final class JitWarmup {
  /** A pass is quiet when the compiler threads' CPU time is below this share of its wall time. */
  static final double QUIET_SHARE = 0.02;

  /** Seconds of one mode at one concurrency in a pass over modes and levels. */
  static final double LEVEL_PASS_SECONDS = 2;

  /** One unmeasured pass over every mode. */
  @FunctionalInterface
  interface Pass {
    void run() throws Exception;
  }

  private JitWarmup() {}

  /**
   * Runs passes until one is quiet or {@code maxSeconds} have passed (at least one pass); prints
   * one line saying how long it took.
   */
  static void untilQuiet(double maxSeconds, Pass pass) throws Exception {
    if (maxSeconds <= 0) {
      return;
    }
    long start = System.nanoTime();
    int passes = 0;
    long lastPassJitMs;
    double lastPassMs;
    do {
      long jitBefore = jitCpuMillis();
      long passStart = System.nanoTime();
      pass.run();
      passes++;
      lastPassMs = (System.nanoTime() - passStart) / 1e6;
      lastPassJitMs = jitCpuMillis() - jitBefore;
    } while (lastPassJitMs > QUIET_SHARE * lastPassMs
        && (System.nanoTime() - start) / 1e9 < maxSeconds);
    System.out.printf("  JIT warm-up: %d pass(es) in %.0f s; the JIT used %d ms of CPU in the"
        + " last (%s)%n", passes, (System.nanoTime() - start) / 1e9, lastPassJitMs,
        lastPassJitMs <= QUIET_SHARE * lastPassMs ? "quiet" : "not yet quiet: time allowed spent");
  }

  /**
   * Passes of every mode at every concurrency, {@link #LEVEL_PASS_SECONDS} each, until quiet. Every
   * level: the code's branch profile differs between one client and many, and a level the JIT has
   * not seen deoptimizes what it compiled for another.
   */
  static void untilQuiet(double maxSeconds, int[] concurrency,
      Collection<LoadRun.Operation> modes) throws Exception {
    untilQuiet(maxSeconds, () -> {
      for (int c : concurrency) {
        for (LoadRun.Operation mode : modes) {
          LoadRun.run(c, 0, LEVEL_PASS_SECONDS, mode);
        }
      }
    });
  }

  /**
   * CPU time of this JVM's compiler threads so far, in ms: from /proc/self/task on Linux (threads
   * named "C1/C2 CompilerThre..."; a compiler thread that has exited takes its time with it),
   * else the JIT's own compile time, which counts wall time and so overstates a starved compiler.
   */
  static long jitCpuMillis() {
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
      return jit != null && jit.isCompilationTimeMonitoringSupported()
          ? jit.getTotalCompilationTime() : 0;
    }
    long ticks = 0;
    try (DirectoryStream<Path> all = Files.newDirectoryStream(tasks)) {
      for (Path task : all) {
        ticks += compilerTicks(task);
      }
    } catch (IOException e) {
      return 0;
    }
    return ticks * 10; // USER_HZ: 100 ticks a second
  }

  /** utime + stime of a compiler thread, 0 for any other thread or one that has just ended. */
  private static long compilerTicks(Path task) {
    try {
      String stat = Files.readString(task.resolve("stat"));
      int open = stat.indexOf('(');
      int close = stat.lastIndexOf(')');
      String name = stat.substring(open + 1, close);
      if (!name.startsWith("C1 Compiler") && !name.startsWith("C2 Compiler")) {
        return 0;
      }
      // After "(comm) ": state is field 3; utime and stime are fields 14 and 15.
      String[] f = stat.substring(close + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }
}
