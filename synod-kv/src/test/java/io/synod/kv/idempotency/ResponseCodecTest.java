package io.synod.kv.idempotency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.VectorClock;
import java.util.Arrays;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.arbitraries.StringArbitrary;
import org.junit.jupiter.api.Test;

/** The stored response's bytes: every response comes back equal, damaged bytes fail plainly. */
class ResponseCodecTest {

  @Property(tries = 300)
  void everyResponseRoundTrips(@ForAll("responses") KvWriteResult response) {
    assertThat(ResponseCodec.decode(ResponseCodec.encode(response))).isEqualTo(response);
  }

  @Property(tries = 100)
  void everyTruncationFailsWithAMessage(@ForAll("responses") KvWriteResult response) {
    byte[] bytes = ResponseCodec.encode(response);
    for (int length = 0; length < bytes.length; length++) {
      byte[] cut = Arrays.copyOf(bytes, length);
      assertThatThrownBy(() -> ResponseCodec.decode(cut))
          .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("null");
    }
  }

  @Test
  void equalResponsesEncodeAlike() {
    KvWriteResult a = response(VectorClock.of(Map.of("b", 2L, "a", 1L)));
    KvWriteResult b = response(VectorClock.EMPTY.increment("a").increment("b").increment("b"));

    assertThat(ResponseCodec.encode(a)).isEqualTo(ResponseCodec.encode(b));
  }

  @Test
  void foreignOrDamagedBytesAreRefusedSayingWhy() {
    byte[] good = ResponseCodec.encode(response(VectorClock.of(Map.of("c1", 3L))));

    byte[] otherFormat = good.clone();
    otherFormat[0] = 9;
    assertThatThrownBy(() -> ResponseCodec.decode(otherFormat)).hasMessageContaining("format 9");

    byte[] trailing = Arrays.copyOf(good, good.length + 1);
    assertThatThrownBy(() -> ResponseCodec.decode(trailing)).hasMessageContaining("1 bytes after");

    byte[] zeroCounter = good.clone();
    Arrays.fill(zeroCounter, good.length - 4 - 8, good.length - 4, (byte) 0);
    assertThatThrownBy(() -> ResponseCodec.decode(zeroCounter))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive");
  }

  @Test
  void fingerprintsTellRequestsApart() {
    String fp = IdempotencyStore.fingerprint("write", "k", new byte[] {1});

    assertThat(fp).hasSize(64).matches("[0-9a-f]+")
        .isEqualTo(IdempotencyStore.fingerprint("write", "k", new byte[] {1}))
        .isNotEqualTo(IdempotencyStore.fingerprint("write", "k", new byte[] {2}))
        .isNotEqualTo(IdempotencyStore.fingerprint("delete", "k", null))
        .isNotEqualTo(IdempotencyStore.fingerprint("write", "k\u0001", new byte[0]));
    assertThat(IdempotencyStore.fingerprint("write", "k", new byte[0]))
        .isNotEqualTo(IdempotencyStore.fingerprint("write", "k", null));
  }

  private static KvWriteResult response(VectorClock clock) {
    return new KvWriteResult(true, "k", "idem", clock, 2, Consistency.ONE, false, null);
  }

  /** Text without lone surrogates, which UTF-8 cannot carry (Java strings hold none of ours). */
  private static StringArbitrary chars() {
    return Arbitraries.strings().withCharRange('\u0000', '\ud7ff')
        .withCharRange('\ue000', '\uffff');
  }

  @Provide
  Arbitrary<KvWriteResult> responses() {
    Arbitrary<String> text = chars().ofMaxLength(40).injectNull(0.2);
    Arbitrary<VectorClock> clocks = Arbitraries.maps(
            chars().ofMaxLength(12),
            Arbitraries.longs().between(1, Long.MAX_VALUE))
        .ofMaxSize(6).map(VectorClock::of).injectNull(0.1);
    Arbitrary<Consistency> consistency = Arbitraries.of(Consistency.class).injectNull(0.2);
    return Combinators.combine(Arbitraries.of(true, false), text, text, clocks,
            Arbitraries.integers().between(-1, 7), consistency, Arbitraries.of(true, false), text)
        .as(KvWriteResult::new);
  }
}
