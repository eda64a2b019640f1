package io.synod.cli;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code synod} command line. */
@Command(
    name = "synod",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Coordination for applications that write to more than one data store.",
    subcommands = {DemoCommand.class, ServeCommand.class, TxnCommand.class, SagaCommand.class,
        ClusterCommand.class, LockCommand.class, KvCommand.class, BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line as {@link #main} runs it, for tests that capture its output. */
  public static CommandLine commandLine() {
    return new CommandLine(new Main())
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler(Main::badInput);
  }

  /**
   * Bad input that a command finds only when it runs (an option out of range, an invalid
   * setting) is a usage error: one line naming the option and the rule, exit code 2, no stack
   * trace. Anything else is a failure and keeps its stack trace.
   */
  private static int badInput(Exception e, CommandLine command, CommandLine.ParseResult parsed)
      throws Exception {
    boolean usage = e instanceof IllegalArgumentException
        || (e instanceof SynodException s && s.code() == ErrorCode.INVALID_ARGUMENT);
    if (!usage) {
      throw e;
    }
    String name = command.getCommandSpec().qualifiedName();
    command.getErr().println(name + ": " + e.getMessage());
    command.getErr().println("Try '" + name + " --help'.");
    return command.getCommandSpec().exitCodeOnInvalidInput();
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"synod " + (v == null ? "development build" : v)};
    }
  }
}
