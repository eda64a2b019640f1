package io.synod.cli;

import io.synod.client.SynodClient;
import io.synod.proto.v1.ClusterStatus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code synod cluster ...}: the Raft group behind the coordinator log. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
    description = "Inspect the group of synod nodes.",
    subcommands = ClusterCommand.Status.class)
final class ClusterCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: status");
  }

  /** {@code synod cluster status}. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Print the group as the answering node sees it: members (id, Raft "
          + "address, API address, * for the leader), leader, term, commit index and applied "
          + "index.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:answered",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error"})
  static final class Status extends ClientCommand {
    @Override
    int run(Output output) {
      ClusterStatus status;
      try (SynodClient client = connection.connect()) {
        status = client.clusterStatus();
      }
      output.print(Output.cluster(status));
      return ExitCodes.OK;
    }
  }
}
