package io.synod.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.client.RemoteSagaService;
import io.synod.client.SynodClient;
import io.synod.server.http.SagaJson;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code synod saga ...}: orchestrated sagas on a running server. */
@Command(name = "saga", mixinStandardHelpOptions = true,
    description = "Start orchestrated sagas on a synod server and follow them.",
    subcommands = {SagaCommand.Start.class, SagaCommand.Status.class, SagaCommand.ListActive.class,
        SagaCommand.Abort.class})
final class SagaCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: start, status, list or abort");
  }

  /** {@code synod saga start FILE}. */
  @Command(name = "start", mixinStandardHelpOptions = true,
      description = {
          "Start a saga from a JSON request in the HTTP API's shape (POST /v1/sagas: saga_id, "
              + "definition, input, wait) and print its status: its state, then its steps.",
          "By default waits until the saga has completed, aborted or failed. Without saga_id the "
              + "client makes one up; retries after a lost answer use the same id, so the saga "
              + "starts at most once.",
          "An operation runs SQL (sql, params) or a Redis command (redis) in a configured store, "
              + "or writes a key of the server's key-value store: {\"store\": \"kv\", "
              + "\"tenant_id\", \"key\", \"value\"} or \"delete\": true. FILE may be YAML "
              + "(*.yaml, *.yml)."},
      footer = {"%nExample FILE:",
          "  {\"saga_id\": \"order-1\",",
          "   \"definition\": {\"name\": \"order\", \"steps\": [",
          "     {\"name\": \"debit\",",
          "      \"forward_operation\": {\"store\": \"a\",",
          "        \"sql\": \"INSERT INTO ledger (id, amount) VALUES (?, ?)\",",
          "        \"params\": [\"{{saga.saga_id}}\", \"{{saga.amount}}\"]},",
          "      \"compensation_operation\": {\"store\": \"a\",",
          "        \"sql\": \"DELETE FROM ledger WHERE id = ?\", \"params\": [\"{{saga.saga_id}}\"]}}]},",
          "   \"input\": {\"amount\": 30}}"},
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:completed (or, with --no-wait, started)",
          "1:the saga aborted (its steps compensated) or failed (a compensation kept failing)",
          "2:bad input: FILE missing or not valid JSON, or a field the server refused "
              + "(the message names it)",
          "3:no server answered within --retry-for",
          "4:any other server error"})
  static final class Start extends ClientCommand {
    @Parameters(paramLabel = "FILE", description = "The request as JSON; - reads standard input.")
    String file;

    @Option(names = "--wait", negatable = true,
        description = "Wait until the saga has completed, aborted or failed (the default, unless "
            + "FILE says \"wait\": false); --no-wait returns once it is logged.")
    Boolean wait;

    @Override
    int run(Output output) {
      JsonNode body = TxnCommand.Submit.read(file);
      // The client makes up a missing id, as the Idempotency-Key header would stand in for it.
      String madeUp = body.isObject() && !body.hasNonNull("saga_id")
          ? UUID.randomUUID().toString() : null;
      SagaJson.StartRequest request = SagaJson.request(body, madeUp);
      boolean waits = wait != null ? wait
          : request.waits() == null || request.waits();
      SagaStatus status;
      try (SynodClient client = connection.connect()) {
        RemoteSagaService sagas = client.sagas();
        status = waits
            ? sagas.startAndWait(request.sagaId(), request.definition(), request.input())
            : sagas.submit(request.sagaId(), request.definition(), request.input());
      }
      output.print(SagaJson.status(status));
      return status.state() == SagaState.ABORTED || status.state() == SagaState.FAILED
          ? ExitCodes.NOT_COMMITTED : ExitCodes.OK;
    }
  }

  /** {@code synod saga status ID}. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Print the current status of a saga: its state, then its steps.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:found (whatever its state)",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error",
          "5:no saga with this id is known"})
  static final class Status extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The saga id.")
    String id;

    @Override
    int run(Output output) {
      Optional<SagaStatus> status;
      try (SynodClient client = connection.connect()) {
        status = client.sagas().status(id);
      }
      if (status.isEmpty()) {
        return output.fail(ExitCodes.NOT_FOUND, "no saga '" + id + "' is known");
      }
      output.print(SagaJson.status(status.get()));
      return ExitCodes.OK;
    }
  }

  /** {@code synod saga list}. */
  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "Print the ids of sagas not yet completed or aborted (failed ones included), "
          + "one per line.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:answered (possibly with no ids)",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error"})
  static final class ListActive extends ClientCommand {
    @Override
    int run(Output output) {
      List<String> ids;
      try (SynodClient client = connection.connect()) {
        ids = client.sagas().listActive();
      }
      output.lines(SagaJson.ids(ids), ids);
      return ExitCodes.OK;
    }
  }

  /** {@code synod saga abort ID}. */
  @Command(name = "abort", mixinStandardHelpOptions = true,
      description = "Ask a running saga to compensate, and print whether it now does "
          + "(aborted=false: it had already completed or aborted, or the id is unknown).",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:answered (see aborted)",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error"})
  static final class Abort extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The saga id.")
    String id;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why, kept with the saga.")
    String reason;

    @Override
    int run(Output output) {
      boolean aborted;
      try (SynodClient client = connection.connect()) {
        aborted = client.sagas().abort(id, reason);
      }
      output.print(Output.JSON.createObjectNode().put("saga_id", id).put("aborted", aborted));
      return ExitCodes.OK;
    }
  }
}
