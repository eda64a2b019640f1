package io.synod.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import io.synod.client.RemoteLockService;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code synod lock ...}: the lock service of a server, over gRPC. */
@Command(name = "lock", mixinStandardHelpOptions = true,
    description = "Take, inspect and release locks of the lock service.",
    subcommands = {LockCommand.Acquire.class, LockCommand.Status.class,
        LockCommand.Release.class})
final class LockCommand implements Runnable {
  /** The lock was not granted in time (or, with --timeout 0, not at once). */
  static final int TIMED_OUT = 6;
  /** The request was chosen as a deadlock victim. */
  static final int DEADLOCK_VICTIM = 7;
  /** The lock was lost while held (its lease lapsed: no server answered the keepalives). */
  static final int LOST = 8;

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: acquire, status or release");
  }

  /** A lock service over the servers of {@code --server}; bad options name the option. */
  static RemoteLockService connect(ClientOptions connection) {
    try {
      return RemoteLockService.connect(connection.servers, connection.callTimeout,
          connection.retryFor);
    } catch (IllegalArgumentException e) {
      String option = e.getMessage() != null && e.getMessage().startsWith("callTimeout")
          ? "--call-timeout" : e.getMessage() != null && e.getMessage().startsWith("retryFor")
          ? "--retry-for" : "--server";
      throw SynodException.invalid(option, e.getMessage());
    }
  }

  /** {@code synod lock acquire RESOURCE}. */
  @Command(name = "acquire", mixinStandardHelpOptions = true,
      description = {
          "Open a lock session, acquire RESOURCE, print the fencing token, hold the lock while "
              + "sending keepalives, then release it and close the session.",
          "A lock is bound to its session: it is released when this command ends, and lost if "
              + "no keepalive reaches the leader for a whole lease."},
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:granted (and released after --hold)",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error (a missing intent lock, say)",
          "6:not granted within --timeout",
          "7:chosen as a deadlock victim",
          "8:the lock was lost while held"})
  static final class Acquire extends ClientCommand {
    @Parameters(index = "0", paramLabel = "RESOURCE",
        description = "A path of segments separated by '/', e.g. orders/table/row-1.")
    String resource;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "X",
        description = "IS, IX, S or X (default ${DEFAULT-VALUE}).")
    LockMode mode;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10s",
        converter = DurationConverter.class,
        description = "How long to wait in the queue; 0 grants at once or fails (default "
            + "${DEFAULT-VALUE}).")
    Duration timeout;

    @ArgGroup(exclusive = true)
    Hold hold = new Hold();

    static final class Hold {
      @Option(names = "--hold", paramLabel = "DURATION", converter = DurationConverter.class,
          description = "Hold the lock this long, then release it (default: release at once).")
      Duration duration;

      @Option(names = "--hold-until-killed",
          description = "Hold the lock until the command is interrupted or killed, then release "
              + "it.")
      boolean untilKilled;
    }

    @Option(names = "--owner", paramLabel = "NAME",
        description = "Who holds the lock, as status shows it (default: synod-cli@HOST).")
    String owner;

    @Option(names = "--lease", paramLabel = "DURATION", converter = DurationConverter.class,
        description = "The session's lease (default: the server's, 30 s).")
    Duration lease;

    @Option(names = "--priority", paramLabel = "N", defaultValue = "0",
        description = "Deadlock-victim tie breaker: the lowest priority is chosen (default "
            + "${DEFAULT-VALUE}).")
    int priority;

    @Override
    int run(Output output) {
      CompletableFuture<Void> stop = new CompletableFuture<>();
      CountDownLatch released = new CountDownLatch(1);
      Thread hook = hold.untilKilled || hold.duration != null ? new Thread(() -> {
        stop.complete(null);
        try {
          released.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "synod-lock-release") : null;
      if (hook != null) {
        Runtime.getRuntime().addShutdownHook(hook);
      }
      try (RemoteLockService locks = connect(connection);
          LockSession session = open(locks)) {
        Lock lock;
        try {
          LockRequest request = new LockRequest(resource, mode, timeout, true, priority);
          lock = session.acquire(request);
        } catch (SynodException e) {
          return output.fail(exitCode(e), e.getMessage());
        }
        output.print(granted(lock, session));
        return hold(lock, stop, output);
      } finally {
        released.countDown();
        if (hook != null) {
          try {
            Runtime.getRuntime().removeShutdownHook(hook);
          } catch (IllegalStateException e) {
            // shutting down: the hook is running, and has just been told the lock is released
          }
        }
      }
    }

    /** Holds {@code lock} until --hold passes, the command is killed or interrupted, or it is lost. */
    private int hold(Lock lock, CompletableFuture<Void> stop, Output output) {
      if (!hold.untilKilled && (hold.duration == null || hold.duration.isZero())) {
        lock.close();
        return ExitCodes.OK;
      }
      CompletableFuture<Object> ended = CompletableFuture.anyOf(lock.lost(), stop);
      try {
        if (hold.untilKilled) {
          ended.get();
        } else {
          ended.get(hold.duration.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (TimeoutException e) {
        // held for --hold
      } catch (InterruptedException e) {
        // interrupted: release as when killed
      } catch (ExecutionException e) {
        throw new IllegalStateException("waiting for the lock's end failed", e.getCause());
      }
      if (lock.lost().isDone()) {
        LockLost lost = lock.lost().join();
        return output.fail(LOST, lost.toString());
      }
      lock.close();
      return ExitCodes.OK;
    }

    private LockSession open(RemoteLockService locks) {
      try {
        return locks.openSession(owner(), lease);
      } catch (SynodException e) {
        if (e.field().filter(f -> f.startsWith("lease")).isPresent()) {
          throw SynodException.invalid("--lease", e.getMessage().substring(
              e.getMessage().indexOf(": ") + 2));
        }
        if (e.field().filter("owner"::equals).isPresent()) {
          throw SynodException.invalid("--owner", e.getMessage().substring(
              e.getMessage().indexOf(": ") + 2));
        }
        throw e;
      }
    }

    private String owner() {
      if (owner != null) {
        return owner;
      }
      try {
        return "synod-cli@" + InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException e) {
        return "synod-cli";
      }
    }

    private ObjectNode granted(Lock lock, LockSession session) {
      return Output.JSON.createObjectNode()
          .put("resource", lock.resource())
          .put("mode", lock.mode().name())
          .put("fencing_token", lock.fencingToken())
          .put("session_id", session.id())
          .put("owner", session.owner());
    }
  }

  /** {@code synod lock status RESOURCE}. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Print the holders (session, owner, mode, fencing token) and the waiters "
          + "(oldest first) of RESOURCE, as the leader sees them.",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:answered",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error"})
  static final class Status extends ClientCommand {
    @Parameters(index = "0", paramLabel = "RESOURCE", description = "The resource's path.")
    String resource;

    @Override
    int run(Output output) {
      LockStatus status;
      try (RemoteLockService locks = connect(connection)) {
        status = locks.status(resource);
      }
      output.print(connection.output == Output.Format.JSON ? json(status) : table(status));
      return ExitCodes.OK;
    }

    /** The HTTP API's shape: {@code GET /v1/locks/{resource}}. */
    static ObjectNode json(LockStatus status) {
      ObjectNode node = Output.JSON.createObjectNode().put("resource", status.resource());
      ArrayNode holders = node.putArray("holders");
      for (LockStatus.Holder h : status.holders()) {
        holders.addObject().put("session_id", h.sessionId()).put("owner", h.owner())
            .put("mode", h.mode().name()).put("fencing_token", h.fencingToken());
      }
      ArrayNode waiters = node.putArray("waiters");
      for (LockStatus.Waiter w : status.waiters()) {
        waiters.addObject().put("session_id", w.sessionId()).put("owner", w.owner())
            .put("mode", w.mode().name());
      }
      return node;
    }

    /** Counts, then one table of holders and waiters, each row saying which it is. */
    private static ObjectNode table(LockStatus status) {
      ObjectNode node = Output.JSON.createObjectNode()
          .put("resource", status.resource())
          .put("holders", status.holders().size())
          .put("waiters", status.waiters().size());
      ArrayNode rows = node.putArray("locks");
      for (LockStatus.Holder h : status.holders()) {
        rows.addObject().put("role", "holder").put("session_id", h.sessionId())
            .put("owner", h.owner()).put("mode", h.mode().name())
            .put("fencing_token", h.fencingToken());
      }
      int position = 1;
      for (LockStatus.Waiter w : status.waiters()) {
        rows.addObject().put("role", "waiter " + position++).put("session_id", w.sessionId())
            .put("owner", w.owner()).put("mode", w.mode().name()).putNull("fencing_token");
      }
      if (rows.isEmpty()) {
        node.remove("locks");
      }
      return node;
    }
  }

  /** {@code synod lock release --session ID RESOURCE}. */
  @Command(name = "release", mixinStandardHelpOptions = true,
      description = {
          "Release RESOURCE for a session opened elsewhere (by a script over HTTP, say).",
          "A lock belongs to its session; 'synod lock acquire' releases its own locks itself."},
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          "0:released (or not held)",
          "2:bad input",
          "3:no server answered within --retry-for",
          "4:any other server error (locks are held below RESOURCE, say)",
          "5:the session is not open"})
  static final class Release extends ClientCommand {
    @Option(names = "--session", paramLabel = "ID", required = true,
        description = "The session that holds the lock.")
    String session;

    @Parameters(index = "0", paramLabel = "RESOURCE", description = "The resource's path.")
    String resource;

    @Override
    int run(Output output) {
      try (RemoteLockService locks = connect(connection)) {
        locks.release(session, resource);
      }
      output.print(Output.JSON.createObjectNode().put("session_id", session)
          .put("resource", resource).put("released", true));
      return ExitCodes.OK;
    }
  }

  /** Timed out and deadlock victim have exit codes of their own; the rest as for every command. */
  static int exitCode(SynodException e) {
    if (e.code() == ErrorCode.DEADLINE_EXCEEDED) {
      return TIMED_OUT;
    }
    if (e.code() == ErrorCode.ABORTED && e.getMessage().startsWith("deadlock")) {
      return DEADLOCK_VICTIM;
    }
    return ExitCodes.of(e);
  }
}
