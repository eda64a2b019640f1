package io.synod.kv.node;

import static io.synod.kv.node.Versions.clock;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.kv.Versioned;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs a storage node as its own process, writes to it from 8 callers at once, kills it with
 * SIGKILL halfway through, restarts it on the same data directory and port, and checks that every
 * write it acknowledged is there. Without {@code --sync-writes}: an acknowledged write is in the
 * write-ahead log in the operating system's hands, which a killed process cannot lose.
 */
@Timeout(90)
class StorageNodeKillIT {
  private static final int WRITES = 2000;
  private static final int IN_FLIGHT = 8;
  private static final int KILL_AFTER_ACKS = 1000;
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
  private static final long START_WAIT_SECONDS = 30;
  private static final Pattern LISTENING =
      Pattern.compile("storage node (\\S+) listening on (\\S+):(\\d+)");

  @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir;
  private final List<Process> children = new ArrayList<>();

  @AfterEach
  void killChildren() throws InterruptedException {
    for (Process p : children) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void everyAcknowledgedWriteSurvivesAKill() throws Exception {
    Path data = dir.resolve("data");
    Child first = spawn(data, 0, "first");

    Map<String, Versioned> acknowledged = new ConcurrentHashMap<>();
    AtomicInteger failed = new AtomicInteger();
    CountDownLatch killPoint = new CountDownLatch(KILL_AFTER_ACKS);
    CountDownLatch allDone = new CountDownLatch(WRITES);
    Semaphore inFlight = new Semaphore(IN_FLIGHT);
    try (StorageNodeClient client = new StorageNodeClient("n1", first.address())) {
      Thread writer = Thread.ofPlatform().name("kill-it-writer").start(() -> {
        for (int i = 0; i < WRITES; i++) {
          String key = String.format("key-%05d", i);
          Versioned v = Versions.value("value " + i, clock("c1", i + 1), 1_000 + i);
          inFlight.acquireUninterruptibly();
          client.put("t", key, List.of(v), CALL_TIMEOUT).whenComplete((siblings, error) -> {
            if (error == null) {
              acknowledged.put(key, v);
              killPoint.countDown();
            } else {
              failed.incrementAndGet();
            }
            inFlight.release();
            allDone.countDown();
          });
        }
      });
      assertThat(killPoint.await(60, TimeUnit.SECONDS)).as("%d writes acknowledged",
          KILL_AFTER_ACKS).isTrue();
      first.process().destroyForcibly(); // SIGKILL, while writes are still being sent
      assertThat(first.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(allDone.await(60, TimeUnit.SECONDS)).as("every write answered").isTrue();
      writer.join(TimeUnit.SECONDS.toMillis(10));
    }
    assertThat(failed.get()).as("writes after the kill failed: it came mid-stream").isPositive();

    Child second = spawn(data, first.port(), "second");
    int found = 0;
    try (StorageNodeClient client = new StorageNodeClient("n1", second.address())) {
      for (Map.Entry<String, Versioned> e : acknowledged.entrySet()) {
        if (client.get("t", e.getKey(), CALL_TIMEOUT).join().contains(e.getValue())) {
          found++;
        }
      }
    }
    int acked = acknowledged.size();
    System.out.printf("storage node kill: acknowledged %d, found after restart %d, lost %d%n",
        acked, found, acked - found);
    assertThat(found).isEqualTo(acked);
  }

  private static String output(Path log) throws IOException {
    return new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
  }

  private record Child(Process process, String host, int port) {
    String address() {
      return host + ":" + port;
    }
  }

  /** Starts StorageNodeMain and waits for its "listening" line. */
  private Child spawn(Path data, int port, String name) throws IOException, InterruptedException {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    Path log = dir.resolve(name + ".log");
    Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        StorageNodeMain.class.getName(), "--id", "n1", "--data", data.toString(),
        "--port", String.valueOf(port))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    children.add(p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_WAIT_SECONDS);
    while (System.nanoTime() < deadline) {
      Matcher m = LISTENING.matcher(output(log));
      if (m.find()) {
        return new Child(p, m.group(2), Integer.parseInt(m.group(3)));
      }
      if (!p.isAlive()) {
        throw new AssertionError("storage node exited with " + p.exitValue() + " before it"
            + " listened; its output:\n" + output(log));
      }
      Thread.sleep(50);
    }
    throw new AssertionError("storage node did not listen within " + START_WAIT_SECONDS
        + " s; its output:\n" + output(log));
  }
}
