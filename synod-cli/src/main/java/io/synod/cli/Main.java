package io.synod.cli;

import io.synod.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code synod} command line. */
@Command(
    name = "synod",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Coordination for applications that write to more than one data store.",
    subcommands = {DemoCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  public static void main(String[] args) {
    int exit = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    System.exit(exit);
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
