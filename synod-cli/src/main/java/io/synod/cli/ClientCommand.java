package io.synod.cli;

import io.synod.api.SynodException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that talks to a server. Every failure ends the same way: one line on standard error
 * naming the command, and the exit code of {@link ExitCodes}.
 */
abstract class ClientCommand implements Callable<Integer> {
  @Mixin ClientOptions connection;

  @Spec CommandSpec spec;

  @Override
  public final Integer call() {
    Output output = new Output(spec, connection.output);
    try {
      return run(output);
    } catch (SynodException e) {
      return output.fail(ExitCodes.of(e), e.getMessage());
    }
  }

  /** Does the command's work; a {@link SynodException} is reported by its code. */
  abstract int run(Output output);
}
