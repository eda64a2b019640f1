package io.synod.cli.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the {@code synod} command line in a child JVM, as a script would. */
final class Cli {
  record Run(int exitCode, String stdout, String stderr) {}

  private Cli() {}

  static Run run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("io.synod.cli.Main");
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().keySet().removeIf(k -> k.startsWith("SYNOD_"));
    Process process = builder.start();
    var out = process.getInputStream();
    var err = process.getErrorStream();
    var stderr = new java.util.concurrent.CompletableFuture<String>();
    Thread.ofVirtual().start(() -> {
      try {
        stderr.complete(new String(err.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        stderr.completeExceptionally(e);
      }
    });
    String stdout = new String(out.readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("synod " + String.join(" ", args) + " did not finish in 120 s");
    }
    return new Run(process.exitValue(), stdout, stderr.join());
  }

  /** Runs curl, which must be on the PATH (it is on Debian and in CI). */
  static Run curl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("curl");
    command.addAll(List.of("--silent", "--show-error", "--max-time", "60"));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).start();
    String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor(90, TimeUnit.SECONDS);
    return new Run(process.exitValue(), stdout, stderr);
  }
}
