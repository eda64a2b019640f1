package io.synod.cli;

import io.synod.api.SynodException;
import io.synod.client.SynodClient;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;

/** The options of every command that talks to a server: where, how long to retry, what to print. */
final class ClientOptions {
  @Option(names = "--server", split = ",", paramLabel = "HOST:PORT",
      defaultValue = "${env:SYNOD_SERVER:-127.0.0.1:7790}",
      description = "gRPC address of a synod server; several, comma-separated, are tried in "
          + "turn (default ${DEFAULT-VALUE}; the environment variable SYNOD_SERVER sets the "
          + "default).")
  List<String> servers;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = "table (key/value lines) or json (default ${DEFAULT-VALUE}).")
  Output.Format output;

  @Option(names = "--retry-for", paramLabel = "DURATION", defaultValue = "30s",
      converter = DurationConverter.class,
      description = "How long to keep retrying while no server answers, e.g. 500ms, 2s, 1m "
          + "(default ${DEFAULT-VALUE}).")
  Duration retryFor;

  @Option(names = "--call-timeout", paramLabel = "DURATION", defaultValue = "10s",
      converter = DurationConverter.class,
      description = "Deadline of each status, abort, list and cluster call (default "
          + "${DEFAULT-VALUE}).")
  Duration callTimeout;

  /** A client of the servers given; bad option values are INVALID_ARGUMENT naming the option. */
  SynodClient connect() {
    SynodClient.Builder builder;
    try {
      builder = SynodClient.builder(servers);
    } catch (IllegalArgumentException e) {
      throw SynodException.invalid("--server", e.getMessage());
    }
    try {
      builder.callTimeout(callTimeout);
    } catch (IllegalArgumentException e) {
      throw SynodException.invalid("--call-timeout", e.getMessage());
    }
    return builder.retryFor(retryFor).build();
  }
}
