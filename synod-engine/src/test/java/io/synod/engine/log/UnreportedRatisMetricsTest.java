package io.synod.engine.log;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.ratis.metrics.LongCounter;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.Timekeeper;
import org.junit.jupiter.api.Test;

class UnreportedRatisMetricsTest {
  @Test
  void ratisLoadsOursAndCountersCountWhileTimersOnlyMeasure() throws Exception {
    assertThat(MetricRegistries.global()).isInstanceOf(UnreportedRatisMetrics.class);

    MetricRegistries registries = new UnreportedRatisMetrics();
    MetricRegistryInfo info = new MetricRegistryInfo("n1", "ratis", "log_worker", "test");
    RatisMetricRegistry registry = registries.create(info);
    assertThat(registries.create(info)).isSameAs(registry);
    assertThat(registries.get(info)).contains(registry);

    LongCounter counter = registry.counter("appends");
    counter.inc();
    counter.inc(4);
    counter.dec();
    assertThat(registry.counter("appends").getCount()).isEqualTo(4);

    Timekeeper.Context timing = registry.timer("flush").time();
    Thread.sleep(2);
    assertThat(timing.stop()).isGreaterThanOrEqualTo(2_000_000L);

    assertThat(registries.remove(info)).isTrue();
    assertThat(registries.get(info)).isEmpty();
  }
}
