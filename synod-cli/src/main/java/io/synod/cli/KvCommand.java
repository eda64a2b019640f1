package io.synod.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.Tenant;
import io.synod.client.SynodClient;
import io.synod.server.http.KvJson;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code synod kv ...}: the replicated key-value store of a server, over gRPC. Answers print in
 * the HTTP API's shapes ({@link KvJson}); {@code get} prints only the value unless asked for
 * more.
 */
@Command(name = "kv", mixinStandardHelpOptions = true,
    description = "Write, read and delete keys of the replicated key-value store; administer its "
        + "tenants and storage nodes.",
    subcommands = {KvCommand.Put.class, KvCommand.Get.class, KvCommand.Delete.class,
        KvCommand.Tenants.class, KvCommand.Nodes.class})
final class KvCommand implements Runnable {
  private static final String EXIT_BAD_INPUT = "2:bad input: an invalid option or argument, or a "
      + "field the server refused (the message names it)";
  private static final String EXIT_UNAVAILABLE = "3:no server answered within --retry-for, or "
      + "too few replicas answered for the consistency";
  private static final String EXIT_OTHER = "4:any other server error";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: put, get, delete, tenants or nodes");
  }

  /** {@code one}, {@code quorum} or {@code all}; null when the option was not given. */
  static Consistency consistency(String option) {
    return Consistency.fromWire("--consistency", option);
  }

  /** TENANT and KEY, the first two parameters of put, get and delete, and their --consistency. */
  static final class KeyArgs {
    @Parameters(index = "0", paramLabel = "TENANT", description = "The tenant's id.")
    String tenant;

    @Parameters(index = "1", paramLabel = "KEY", description = "The key: 1 to 1024 bytes.")
    String key;

    @Option(names = "--consistency", paramLabel = "LEVEL",
        description = "one, quorum or all (default: the tenant's default consistency).")
    String consistency;

    Consistency consistency() {
      return KvCommand.consistency(consistency);
    }
  }

  /** {@code synod kv put TENANT KEY VALUE}. */
  @Command(name = "put", mixinStandardHelpOptions = true,
      description = {
          "Write VALUE under KEY of TENANT and print the version written: its vector clock, the "
              + "replicas that acknowledged, the consistency.",
          "With --idempotency-key, a retry with the same key writes nothing and prints the first "
              + "write's answer with is_duplicate true."},
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:written", EXIT_BAD_INPUT, EXIT_UNAVAILABLE, EXIT_OTHER,
          "5:no such tenant"})
  static final class Put extends ClientCommand {
    @Mixin KeyArgs at;

    @Parameters(index = "2", paramLabel = "VALUE",
        description = "The value, written as its UTF-8 bytes (or decoded, with --base64).")
    String value;

    @Option(names = "--idempotency-key", paramLabel = "KEY",
        description = "Makes a retry of this write return the first answer: 1 to 256 "
            + "characters.")
    String idempotencyKey;

    @Option(names = "--base64", description = "VALUE is standard base64, for bytes that are not "
        + "text.")
    boolean base64;

    @Override
    int run(Output output) {
      KvWrite write = new KvWrite(at.tenant, at.key, bytes(), at.consistency(),
          idempotencyKey);
      KvWriteResult result;
      try (SynodClient client = connection.connect()) {
        result = client.kv().write(write);
      }
      output.print(KvJson.write(at.tenant, result));
      return ExitCodes.OK;
    }

    private byte[] bytes() {
      if (!base64) {
        return value.getBytes(StandardCharsets.UTF_8);
      }
      try {
        return Base64.getDecoder().decode(value);
      } catch (IllegalArgumentException e) {
        throw SynodException.invalid("VALUE", "must be standard base64 with --base64: "
            + e.getMessage());
      }
    }
  }

  /** {@code synod kv get TENANT KEY}. */
  @Command(name = "get", mixinStandardHelpOptions = true,
      description = {
          "Print the value of KEY of TENANT: the newest version, or among concurrent ones the "
              + "latest by timestamp.",
          "With --output json, or --siblings, print the whole answer: vector clock, consistency "
              + "and (with --siblings) every concurrent version."},
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:found", EXIT_BAD_INPUT, EXIT_UNAVAILABLE, EXIT_OTHER,
          "5:no such key (never written, or deleted), or no such tenant"})
  static final class Get extends ClientCommand {
    @Mixin KeyArgs at;

    @Option(names = "--siblings", description = "Also list every concurrent version.")
    boolean siblings;

    @Option(names = "--base64", description = "Print the value in base64 (values that are not "
        + "UTF-8 text are printed so anyway).")
    boolean base64;

    @Override
    int run(Output output) {
      KvRead read = new KvRead(at.tenant, at.key, at.consistency(), siblings);
      KvReadResult result;
      try (SynodClient client = connection.connect()) {
        result = client.kv().read(read);
      }
      if (!result.found()) {
        return output.fail(ExitCodes.NOT_FOUND, "no key '" + at.key + "' in tenant '"
            + at.tenant + "': never written, or deleted");
      }
      ObjectNode answer = KvJson.read(at.tenant, result);
      if (siblings) {
        output.print(answer);
        return ExitCodes.OK;
      }
      String text = KvJson.text(result.value());
      if (text == null && !base64) {
        spec.commandLine().getErr().println(spec.qualifiedName() + ": the value is not UTF-8 "
            + "text; it is printed in base64");
      }
      output.lines(answer, List.of(text == null || base64
          ? Base64.getEncoder().encodeToString(result.value()) : text));
      return ExitCodes.OK;
    }
  }

  /** {@code synod kv delete TENANT KEY}. */
  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete KEY of TENANT (write a tombstone that follows its versions) and print "
          + "the tombstone's version.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:deleted (also when the key did not exist)", EXIT_BAD_INPUT,
          EXIT_UNAVAILABLE, EXIT_OTHER, "5:no such tenant"})
  static final class Delete extends ClientCommand {
    @Mixin KeyArgs at;

    @Option(names = "--idempotency-key", paramLabel = "KEY",
        description = "Makes a retry of this delete return the first answer.")
    String idempotencyKey;

    @Override
    int run(Output output) {
      KvDelete delete = new KvDelete(at.tenant, at.key, at.consistency(), idempotencyKey);
      KvWriteResult result;
      try (SynodClient client = connection.connect()) {
        result = client.kv().delete(delete);
      }
      output.print(KvJson.write(at.tenant, result));
      return ExitCodes.OK;
    }
  }

  // ---- tenants ----------------------------------------------------------------------------------

  /** {@code synod kv tenants ...}. */
  @Command(name = "tenants", mixinStandardHelpOptions = true,
      description = "Create, list, show, change and delete tenants.",
      subcommands = {TenantCreate.class, TenantList.class, TenantGet.class, TenantUpdate.class,
          TenantDelete.class})
  static final class Tenants implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "a subcommand is required: create, list, get, update or delete");
    }
  }

  /** A tenant's settings as options; those not given are left as they are (or default). */
  static final class TenantOptions {
    @Option(names = "--replication-factor", paramLabel = "N",
        description = "Replicas of each key: 1 to 7 (default 3).")
    Integer replicationFactor;

    @Option(names = "--default-consistency", paramLabel = "LEVEL",
        description = "one, quorum or all: reads and writes that ask for none (default quorum).")
    String defaultConsistency;

    @Option(names = "--max-value-bytes", paramLabel = "N",
        description = "The largest value a write may carry: 1 to 4194304 (default 1048576).")
    Integer maxValueBytes;

    @Option(names = "--max-requests-per-second", paramLabel = "N",
        description = "Reads and writes each server admits per second; 0 is no limit (the "
            + "default).")
    Integer maxRequestsPerSecond;

    /** {@code base} with the options given. */
    Tenant applyTo(Tenant base) {
      Consistency consistency = Consistency.fromWire("--default-consistency",
          defaultConsistency);
      try {
        return new Tenant(base.id(),
            replicationFactor != null ? replicationFactor : base.replicationFactor(),
            consistency != null ? consistency : base.defaultConsistency(),
            maxValueBytes != null ? maxValueBytes : base.maxValueBytes(),
            maxRequestsPerSecond != null ? maxRequestsPerSecond : base.maxRequestsPerSecond());
      } catch (SynodException e) {
        // The record names its fields as the wire does; the options spell them with dashes.
        String field = e.field().orElse("");
        throw SynodException.invalid("--" + field.replace('_', '-'),
            e.getMessage().substring(field.length() + 2));
      }
    }
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a tenant and print its settings.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:created", EXIT_BAD_INPUT, "3:no server answered within --retry-for",
          "4:any other server error (a tenant with this id exists, say)"})
  static final class TenantCreate extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "1 to 64 letters, digits, '.', '_' or '-'.")
    String id;

    @CommandLine.Mixin TenantOptions settings;

    @Override
    int run(Output output) {
      Tenant.checkId("ID", id);
      Tenant tenant = settings.applyTo(Tenant.withDefaults(id));
      try (SynodClient client = connection.connect()) {
        output.print(KvJson.tenant(client.kv().tenants().create(tenant)));
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the tenants with their settings.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:answered (possibly with no tenants)", EXIT_BAD_INPUT,
          "3:no server answered within --retry-for", EXIT_OTHER})
  static final class TenantList extends ClientCommand {
    @Override
    int run(Output output) {
      try (SynodClient client = connection.connect()) {
        output.print(KvJson.tenants(client.kv().tenants().list()));
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Print a tenant's settings.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:found", EXIT_BAD_INPUT, "3:no server answered within --retry-for",
          EXIT_OTHER, "5:no such tenant"})
  static final class TenantGet extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The tenant's id.")
    String id;

    @Override
    int run(Output output) {
      Optional<Tenant> tenant;
      try (SynodClient client = connection.connect()) {
        tenant = client.kv().tenants().get(id);
      }
      if (tenant.isEmpty()) {
        return output.fail(ExitCodes.NOT_FOUND, "no tenant '" + id + "'");
      }
      output.print(KvJson.tenant(tenant.get()));
      return ExitCodes.OK;
    }
  }

  @Command(name = "update", mixinStandardHelpOptions = true,
      description = "Change a tenant's settings: those given; the others stay. Other servers "
          + "see the change when their cached copy expires (kv.tenant_cache_ttl_seconds).",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:changed", EXIT_BAD_INPUT, "3:no server answered within --retry-for",
          EXIT_OTHER, "5:no such tenant"})
  static final class TenantUpdate extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The tenant's id.")
    String id;

    @CommandLine.Mixin TenantOptions settings;

    @Override
    int run(Output output) {
      try (SynodClient client = connection.connect()) {
        KvService.Tenants tenants = client.kv().tenants();
        Optional<Tenant> current = tenants.get(id);
        if (current.isEmpty()) {
          return output.fail(ExitCodes.NOT_FOUND, "no tenant '" + id + "'");
        }
        output.print(KvJson.tenant(tenants.update(settings.applyTo(current.get()))));
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a tenant's settings (its keys stay on the storage nodes) and print "
          + "whether there was one.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:answered (see deleted)", EXIT_BAD_INPUT,
          "3:no server answered within --retry-for", EXIT_OTHER})
  static final class TenantDelete extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The tenant's id.")
    String id;

    @Override
    int run(Output output) {
      boolean deleted;
      try (SynodClient client = connection.connect()) {
        deleted = client.kv().tenants().delete(id);
      }
      output.print(Output.JSON.createObjectNode().put("tenant_id", id).put("deleted", deleted));
      return ExitCodes.OK;
    }
  }

  // ---- storage nodes ----------------------------------------------------------------------------

  /** {@code synod kv nodes ...}. */
  @Command(name = "nodes", mixinStandardHelpOptions = true,
      description = "List, add and remove the storage nodes of the ring.",
      subcommands = {NodeList.class, NodeAdd.class, NodeRemove.class})
  static final class Nodes implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "a subcommand is required: list, add or remove");
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the storage nodes of the ring (joining and leaving ones included).",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:answered", EXIT_BAD_INPUT, "3:no server answered within --retry-for",
          EXIT_OTHER})
  static final class NodeList extends ClientCommand {
    @Override
    int run(Output output) {
      try (SynodClient client = connection.connect()) {
        output.print(KvJson.nodes(client.kv().membership().nodes()));
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = {
          "Put a running storage node on the ring, stream it the keys of the ranges it takes, "
              + "and print what moved.",
          "Takes two kv.ring_refresh_seconds periods (30 s each by default) and the copy; reads "
              + "and writes go on meanwhile. Made once: not retried on another server."},
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:the node serves", EXIT_BAD_INPUT,
          "3:the server or a storage node could not be reached",
          "4:any other server error (the id is on the ring, or another change is in progress)"})
  static final class NodeAdd extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The node's id on the ring.")
    String id;

    @Parameters(index = "1", paramLabel = "HOST:PORT",
        description = "Where its storage API listens.")
    String address;

    @Override
    int run(Output output) {
      try (SynodClient client = connection.connect()) {
        output.print(KvJson.report(client.kv().membership().add(
            new KvService.StorageNodeInfo(id, address))));
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = "Stream a storage node's ranges to the nodes that inherit them, take it off "
          + "the ring, and print what moved. Made once: not retried on another server.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {"0:the node is off the ring", EXIT_BAD_INPUT,
          "3:the server or a storage node could not be reached", EXIT_OTHER,
          "5:no such node on the ring"})
  static final class NodeRemove extends ClientCommand {
    @Parameters(paramLabel = "ID", description = "The node's id on the ring.")
    String id;

    @Override
    int run(Output output) {
      try (SynodClient client = connection.connect()) {
        output.print(KvJson.report(client.kv().membership().remove(id)));
      }
      return ExitCodes.OK;
    }
  }
}
