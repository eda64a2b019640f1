package io.synod.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code synod bench ...}: load tools that print medians and ratios against a same-run baseline. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure synod against a baseline run in the same process.",
    subcommands = {TwoPhaseCommitBench.class, LockBench.class, SagaBench.class, KvBench.class,
        CommandLine.HelpCommand.class})
public final class BenchCommand implements Runnable {
  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
