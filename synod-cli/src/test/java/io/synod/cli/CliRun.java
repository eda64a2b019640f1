package io.synod.cli;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** One {@code synod ...} command run in this JVM: its exit code and what it printed. */
record CliRun(int exitCode, String out, String err) {
  static CliRun of(String... args) {
    return withInput(null, args);
  }

  /** As {@link #of}, with {@code stdin} (null: none) as the command's standard input. */
  static CliRun withInput(String stdin, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    InputStream before = System.in;
    try {
      if (stdin != null) {
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
      }
      int exit = command(out, err).execute(args);
      return new CliRun(exit, out.toString(), err.toString());
    } finally {
      System.setIn(before);
    }
  }

  /** The CLI printing into {@code out} and {@code err}, for a command run on another thread. */
  static CommandLine command(StringWriter out, StringWriter err) {
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli;
  }
}
