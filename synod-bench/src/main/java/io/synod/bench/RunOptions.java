package io.synod.bench;

import picocli.CommandLine.Option;

/** How long and how often every benchmark measures: one set of options for all of them. */
final class RunOptions {
  @Option(names = "--seconds", defaultValue = "5",
      description = "Measured seconds per cell (default ${DEFAULT-VALUE}).")
  double seconds;

  @Option(names = "--warmup-seconds", defaultValue = "2",
      description = "Unmeasured seconds before each cell (default ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Option(names = "--rounds", defaultValue = "3",
      description = "Rounds; medians are reported (default ${DEFAULT-VALUE}).")
  int rounds;

  /** Refuses values no run can use, naming the option and the rule. */
  void validate(double jitWarmupSeconds) {
    if (rounds < 1) {
      throw new IllegalArgumentException("--rounds must be at least 1; got " + rounds);
    }
    if (seconds <= 0) {
      throw new IllegalArgumentException("--seconds must be positive; got " + seconds);
    }
    if (warmupSeconds < 0 || jitWarmupSeconds < 0) {
      throw new IllegalArgumentException("--warmup-seconds and --jit-warmup-seconds must not be"
          + " negative; got " + warmupSeconds + " and " + jitWarmupSeconds);
    }
  }
}
