package io.synod.engine.log;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ratis.metrics.LongCounter;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.Timekeeper;
import org.apache.ratis.util.TimeDuration;

/**
 * Ratis's metrics as synod keeps them: counters count, timers measure for their callers, gauges
 * are dropped, and nothing goes into histograms, since nothing reads them (synod reports its own
 * metrics through Micrometer). Ratis finds this class through the service loader, in place of
 * ratis-metrics-default.
 *
 * <p>Ratis times every log write, flush, append and apply. The default implementation put each
 * measurement into a Dropwizard timer with an exponentially decaying reservoir (a lock and a
 * skip-list insert): on bench 2pc at 32 clients that was a third of the log worker thread's
 * samples, and the log worker writes every entry, one after the other.
 */
public final class UnreportedRatisMetrics extends MetricRegistries {
  private final ConcurrentMap<MetricRegistryInfo, Registry> registries = new ConcurrentHashMap<>();

  /** For the service loader. */
  public UnreportedRatisMetrics() {}

  @Override
  public void clear() {
    registries.clear();
  }

  @Override
  public RatisMetricRegistry create(MetricRegistryInfo info) {
    return registries.computeIfAbsent(info, Registry::new);
  }

  @Override
  public boolean remove(MetricRegistryInfo info) {
    return registries.remove(info) != null;
  }

  @Override
  public Optional<RatisMetricRegistry> get(MetricRegistryInfo info) {
    return Optional.ofNullable(registries.get(info));
  }

  @Override
  public Set<MetricRegistryInfo> getMetricRegistryInfos() {
    return Set.copyOf(registries.keySet());
  }

  @Override
  public Collection<RatisMetricRegistry> getMetricRegistries() {
    return List.copyOf(registries.values());
  }

  /** No reporters: there is nothing for them to read. */
  @Override
  public void addReporterRegistration(Consumer<RatisMetricRegistry> onAdd,
      Consumer<RatisMetricRegistry> onRemove) {}

  @Override
  public void enableJmxReporter() {
    throw new UnsupportedOperationException("synod does not report Ratis's metrics");
  }

  @Override
  public void enableConsoleReporter(TimeDuration period) {
    throw new UnsupportedOperationException("synod does not report Ratis's metrics");
  }

  static final class Registry implements RatisMetricRegistry {
    /** Measures for its caller (stop returns the elapsed nanoseconds) and keeps nothing. */
    private static final Timekeeper TIMER = () -> {
      long start = System.nanoTime();
      return () -> System.nanoTime() - start;
    };

    private final MetricRegistryInfo info;
    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();

    Registry(MetricRegistryInfo info) {
      this.info = info;
    }

    @Override
    public Timekeeper timer(String name) {
      return TIMER;
    }

    @Override
    public LongCounter counter(String name) {
      return counters.computeIfAbsent(name, n -> new Counter());
    }

    @Override
    public boolean remove(String name) {
      counters.remove(name);
      return true;
    }

    @Override
    public <T> void gauge(String name, Supplier<Supplier<T>> gaugeSupplier) {}

    @Override
    public MetricRegistryInfo getMetricRegistryInfo() {
      return info;
    }
  }

  private static final class Counter implements LongCounter {
    private final LongAdder count = new LongAdder();

    @Override
    public void inc(long n) {
      count.add(n);
    }

    @Override
    public void dec(long n) {
      count.add(-n);
    }

    @Override
    public long getCount() {
      return count.sum();
    }
  }
}
