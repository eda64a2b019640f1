package io.synod.engine.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** What the log tests share: a started replica, snapshot files, bytes written by a codec. */
final class LogTesting {
  private LogTesting() {}

  /** A single replica started on {@code config}, once it leads (within 30 s). */
  static RatisLog started(LogConfig config) throws InterruptedException {
    RatisLog log = RatisLog.start(config);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!log.isLeaderReady()) {
      assertThat(System.nanoTime()).as("leadership within 30 s").isLessThan(deadline);
      Thread.sleep(20);
    }
    return log;
  }

  /** The magic number of every snapshot file the replica kept. */
  static List<Integer> snapshotMagics(LogConfig config) throws IOException {
    try (Stream<Path> files = Files.walk(config.storageDir())) {
      return files.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
          .map(p -> {
            try (DataInputStream in = new DataInputStream(Files.newInputStream(p))) {
              return in.readInt();
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          }).toList();
    }
  }

  interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  /** What {@code writer} writes. */
  static byte[] bytes(Writer writer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writer.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
