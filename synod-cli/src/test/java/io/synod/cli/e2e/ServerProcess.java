package io.synod.cli.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code synod serve} in a child JVM, as an operator would run it: same main class, a YAML
 * file, environment overrides. Its stdout is read for the addresses it says it listens on; its
 * stderr (the JSON log) is kept in a file beside the configuration for post-mortems.
 */
final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTEN = Pattern.compile("^\\s+(http|grpc|raft)\\s+(\\S+:\\d+).*");
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  private final Process process;
  private final List<String> stdout = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Void> listening = new CompletableFuture<>();
  private volatile String http;
  private volatile String grpc;
  private final Path log;

  private ServerProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
    Thread reader = new Thread(this::readStdout, "server-stdout-" + process.pid());
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code synod serve --config config} with {@code env} added to this JVM's. */
  static ServerProcess start(Path config, Map<String, String> env) throws IOException {
    return start(List.of("serve", "--config", config.toString()), env,
        config.resolveSibling(config.getFileName() + ".log"));
  }

  static ServerProcess start(List<String> args, Map<String, String> env, Path log)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("-Xmx512m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("io.synod.cli.Main");
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.to(log.toFile()));
    builder.environment().keySet().removeIf(k -> k.startsWith("SYNOD_"));
    builder.environment().putAll(env);
    return new ServerProcess(builder.start(), log);
  }

  private void readStdout() {
    try (BufferedReader in = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        stdout.add(line);
        Matcher m = LISTEN.matcher(line);
        if (m.matches()) {
          switch (m.group(1)) {
            case "http" -> http = m.group(2);
            case "grpc" -> grpc = m.group(2);
            default -> listening.complete(null);
          }
        }
      }
    } catch (IOException e) {
      // the process ended
    } finally {
      listening.completeExceptionally(new IllegalStateException(
          "the server exited before it listened; stdout " + stdout + "; log " + log));
    }
  }

  /** Waits until the server printed its addresses. */
  ServerProcess awaitListening() throws Exception {
    listening.get(60, TimeUnit.SECONDS);
    return this;
  }

  /** Waits until /health/ready answers 200. */
  ServerProcess awaitReady() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (readyStatus() != 200) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("server " + http + " not ready within 60 s; log " + log);
      }
      Thread.sleep(100);
    }
    return this;
  }

  int readyStatus() throws Exception {
    return get("/health/ready").statusCode();
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://" + http + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  String httpAddress() {
    return http;
  }

  String grpcAddress() {
    return grpc;
  }

  List<String> stdout() {
    return List.copyOf(stdout);
  }

  String log() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** Waits for the process to end by itself and returns its exit code. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the process did not exit within 60 s");
    }
    return process.exitValue();
  }

  /** kill -9: no shutdown hook, no goodbye to the group. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy(); // SIGTERM: the shutdown hook closes the server
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
