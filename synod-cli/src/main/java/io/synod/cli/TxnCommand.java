package io.synod.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.client.SynodClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code synod txn ...}: coordinations on a running server. */
@Command(name = "txn", mixinStandardHelpOptions = true,
    description = "Submit coordinations to a synod server and follow them.",
    subcommands = {TxnCommand.Submit.class, TxnCommand.Status.class, TxnCommand.Abort.class,
        TxnCommand.ListActive.class})
final class TxnCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: submit, status, abort or list");
  }

  /** {@code synod txn submit FILE}. */
  @Command(name = "submit", mixinStandardHelpOptions = true,
      description = {
          "Run a coordination from a JSON request in the HTTP API's shape (POST "
              + "/v1/coordinations) and print its result.",
          "Without coordination_id the client makes one up; retries after a lost answer use the "
              + "same id, so the coordination runs at most once."},
      footer = {"%nExample FILE:",
          "  {\"coordination_id\": \"order-1\",",
          "   \"operations\": [",
          "     {\"store\": \"orders\", \"sql\": \"INSERT INTO orders (id, total) VALUES (?, ?)\",",
          "      \"params\": [1, \"99.50\"]}],",
          "   \"timeout_seconds\": 30, \"metadata\": {\"source\": \"cli\"}}"},
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:committed (success=true)",
          "1:the coordination aborted or failed (success=false)",
          "2:bad input: FILE missing or not valid JSON, or a field the server refused "
              + "(the message names it)",
          "3:no server answered within --retry-for",
          "4:any other server error"})
  static final class Submit extends ClientCommand {
    /** Reads as the HTTP API does: one JSON value, nested at most 64 deep. */
    private static final ObjectMapper READER = JsonMapper.builder(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
            .build())
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();

    private static final ObjectMapper YAML_READER =
        new com.fasterxml.jackson.dataformat.yaml.YAMLMapper();

    /** Jackson's "[Source: ...; line: 1, column: 15]" in a message, shortened to the position. */
    private static final Pattern SOURCE =
        Pattern.compile("\\[Source: [^\\]]*?; (line: \\d+, column: \\d+)\\]");

    @Parameters(paramLabel = "FILE", description = "The request as JSON; - reads standard input.")
    String file;

    @Override
    int run(Output output) {
      CoordinationRequest request = Output.SHAPES.request(read(file), null);
      CoordinationResult result;
      try (SynodClient client = connection.connect()) {
        result = client.coordinateAndWait(request);
      }
      output.print(Output.result(result));
      return result.success() ? ExitCodes.OK : ExitCodes.NOT_COMMITTED;
    }

    /**
     * The file's JSON ({@code -}: standard input), or YAML for a file named {@code *.yaml} or
     * {@code *.yml} (the same tree); a file that cannot be read or parsed is bad input naming
     * the problem. {@code synod saga start} reads its file so too.
     */
    static JsonNode read(String file) {
      boolean yaml = file.endsWith(".yaml") || file.endsWith(".yml");
      try (InputStream in = file.equals("-") ? System.in : Files.newInputStream(Path.of(file))) {
        return (yaml ? YAML_READER : READER).readTree(in);
      } catch (JsonProcessingException e) {
        throw badInput((file.equals("-") ? "standard input" : file) + " is not valid "
            + (yaml ? "YAML" : "JSON") + ": "
            + SOURCE.matcher(e.getOriginalMessage()).replaceAll("$1") + location(e));
      } catch (NoSuchFileException e) {
        throw badInput("cannot read " + file + ": no such file");
      } catch (IOException e) {
        throw badInput("cannot read " + file + ": " + e);
      }
    }

    private static String location(JsonProcessingException e) {
      return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr() + ")";
    }

    private static SynodException badInput(String message) {
      return new SynodException(ErrorCode.INVALID_ARGUMENT, null, message);
    }
  }

  /** {@code synod txn status ID}. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Print the current status of a coordination.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:found (whatever its state)",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error",
          "5:no coordination with this id is known"})
  static final class Status extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The coordination id.")
    String id;

    @Override
    int run(Output output) {
      Optional<CoordinationResult> status;
      try (SynodClient client = connection.connect()) {
        status = client.status(id);
      }
      if (status.isEmpty()) {
        return output.fail(ExitCodes.NOT_FOUND, "no coordination '" + id + "' is known");
      }
      output.print(Output.result(status.get()));
      return ExitCodes.OK;
    }
  }

  /** {@code synod txn abort ID}. */
  @Command(name = "abort", mixinStandardHelpOptions = true,
      description = "Ask a coordination to abort, and print whether it is now certain to abort "
          + "(aborted=false: it was already decided to commit, or the id is unknown).",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:answered (see aborted)",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error"})
  static final class Abort extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The coordination id.")
    String id;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why, kept with the abort.")
    String reason;

    @Override
    int run(Output output) {
      boolean aborted;
      try (SynodClient client = connection.connect()) {
        aborted = client.abort(id, reason);
      }
      output.print(Output.JSON.createObjectNode().put("coordination_id", id)
          .put("aborted", aborted));
      return ExitCodes.OK;
    }
  }

  /** {@code synod txn list}. */
  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "Print the ids of coordinations not yet finished, one per line.",
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
        ids = client.listActive();
      }
      output.lines(Output.ids(ids), ids);
      return ExitCodes.OK;
    }
  }
}
