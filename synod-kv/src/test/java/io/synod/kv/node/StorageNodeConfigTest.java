package io.synod.kv.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.SynodException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StorageNodeConfigTest {
  private static final Path DIR = Path.of("/tmp/n1");

  @Test
  void defaults() {
    StorageNodeConfig c = StorageNodeConfig.of("n1", DIR);

    assertThat(c.host()).isEqualTo("127.0.0.1");
    assertThat(c.port()).isZero();
    assertThat(c.syncWrites()).isFalse();
    assertThat(c.tombstoneGrace()).isEqualTo(Duration.ofHours(24));
    assertThat(c.gcInterval()).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void invalidValuesAreRejectedNamingTheField() {
    assertInvalid(() -> StorageNodeConfig.of("", DIR), "id");
    assertInvalid(() -> StorageNodeConfig.of("n 1", DIR), "id");
    assertInvalid(() -> StorageNodeConfig.of("n1", null), "data_dir");
    assertInvalid(() -> StorageNodeConfig.of("n1", DIR).withHost(" "), "host");
    assertInvalid(() -> StorageNodeConfig.of("n1", DIR).withPort(70_000), "port");
    assertInvalid(() -> StorageNodeConfig.of("n1", DIR).withTombstoneGrace(Duration.ofSeconds(-1)),
        "tombstone_grace");
    assertInvalid(() -> StorageNodeConfig.of("n1", DIR).withGcInterval(Duration.ZERO),
        "gc_interval");
  }

  @Test
  void mainParsesItsFlags() {
    StorageNodeConfig c = StorageNodeMain.parse(new String[] {"--id", "n2", "--data", "/tmp/n2",
        "--port", "7401", "--host", "0.0.0.0", "--sync-writes"});

    assertThat(c).isEqualTo(new StorageNodeConfig("n2", Path.of("/tmp/n2"), "0.0.0.0", 7401, true,
        StorageNodeConfig.DEFAULT_TOMBSTONE_GRACE, StorageNodeConfig.DEFAULT_GC_INTERVAL));
    assertThat(StorageNodeMain.parse(new String[] {"--help"})).isNull();
  }

  @Test
  void mainNamesTheFlagThatIsWrong() {
    assertBadArgs("--port must be a number", "--id", "n1", "--data", "d", "--port", "x");
    assertBadArgs("--port must be 0", "--id", "n1", "--data", "d", "--port", "-3");
    assertBadArgs("--id is required", "--data", "d");
    assertBadArgs("--data is required", "--id", "n1");
    assertBadArgs("--data needs a value", "--id", "n1", "--data");
    assertBadArgs("--id must be 1 to 64", "--id", "a b", "--data", "d");
    assertBadArgs("unknown argument '--verbose'", "--id", "n1", "--data", "d", "--verbose");
  }

  private static void assertInvalid(Runnable build, String field) {
    assertThatThrownBy(build::run)
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).contains(field))
        .hasMessageStartingWith(field + ": ");
  }

  private static void assertBadArgs(String message, String... args) {
    assertThatThrownBy(() -> StorageNodeMain.parse(args))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(message);
  }
}
