package io.synod.server;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.synod.server.config.ServerConfig;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.MDC;

/**
 * Tracing for the server: an OpenTelemetry SDK sampling the configured share of new traces (and
 * every trace whose caller sampled it), W3C {@code traceparent} in and out, a SERVER span per API
 * call with the coordinator's spans below it, and the trace and span ids in the log's MDC.
 * Spans are exported over OTLP when an endpoint is configured; otherwise they exist only for
 * propagation and logs.
 */
public final class Telemetry implements AutoCloseable {
  /**
   * ParentBased(TraceIdRatioBased) is the configuration the OpenTelemetry specification
   * recommends, yet this SDK warns about it at build time (opentelemetry-java issue 8064). Held
   * here so that the quieted logger is not collected and recreated at its default level.
   */
  private static final java.util.logging.Logger SAMPLER_BUILDER_LOG = quiet(
      "io.opentelemetry.sdk.trace.samplers.ParentBasedSamplerBuilder");

  private final OpenTelemetry openTelemetry;
  private final SdkTracerProvider provider;
  private final Tracer tracer;
  private final ContextPropagators propagators =
      ContextPropagators.create(W3CTraceContextPropagator.getInstance());

  private Telemetry(OpenTelemetry openTelemetry, SdkTracerProvider provider) {
    this.openTelemetry = openTelemetry;
    this.provider = provider;
    this.tracer = openTelemetry.getTracer("io.synod.server");
  }

  /**
   * Tracing as configured, exporting to {@code exporter} when given (tests), else over OTLP to
   * the configured endpoint, else nowhere.
   */
  public static Telemetry create(ServerConfig.Monitoring monitoring, String nodeId,
      Optional<SpanExporter> exporter) {
    if (!monitoring.tracingEnabled()) {
      return new Telemetry(OpenTelemetry.noop(), null);
    }
    var builder = SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.builder()
            .put("service.name", "synod").put("service.instance.id", nodeId).build()))
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(
            monitoring.traceSamplingRate())));
    if (exporter.isPresent()) {
      builder.addSpanProcessor(SimpleSpanProcessor.create(exporter.get()));
    } else if (!monitoring.otlpEndpoint().isEmpty()) {
      builder.addSpanProcessor(BatchSpanProcessor.builder(OtlpGrpcSpanExporter.builder()
          .setEndpoint(monitoring.otlpEndpoint()).build()).build());
    }
    SdkTracerProvider provider = builder.build();
    OpenTelemetry sdk = OpenTelemetrySdk.builder()
        .setTracerProvider(provider)
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
    return new Telemetry(sdk, provider);
  }

  public OpenTelemetry openTelemetry() {
    return openTelemetry;
  }

  /**
   * Runs {@code body} inside a SERVER span named {@code name}, child of the context the caller
   * sent in {@code carrier} (its {@code traceparent}), with the ids in the log MDC.
   */
  public <C, T> T serve(String name, C carrier, TextMapGetter<C> getter, Function<Span, T> body) {
    Span span = startServerSpan(name, carrier, getter);
    try {
      return within(span, () -> body.apply(span));
    } finally {
      span.end();
    }
  }

  /** Starts a SERVER span, child of the context in {@code carrier}; the caller ends it. */
  public <C> Span startServerSpan(String name, C carrier, TextMapGetter<C> getter) {
    Context parent = propagators.getTextMapPropagator().extract(Context.root(), carrier, getter);
    return tracer.spanBuilder(name).setSpanKind(SpanKind.SERVER).setParent(parent).startSpan();
  }

  /** Runs {@code body} with {@code span} current and its ids in the log MDC. */
  @SuppressWarnings("try") // the scopes are held for their side effect: the current context
  public static <T> T within(Span span, Supplier<T> body) {
    SpanContext ids = span.getSpanContext();
    try (Scope scope = span.makeCurrent();
        MDC.MDCCloseable traceId = MDC.putCloseable("trace_id", ids.getTraceId());
        MDC.MDCCloseable spanId = MDC.putCloseable("span_id", ids.getSpanId())) {
      return body.get();
    } catch (RuntimeException e) {
      span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
      throw e;
    }
  }

  /** Writes the current context's {@code traceparent} into an outgoing call's carrier. */
  public <C> void inject(C carrier, TextMapSetter<C> setter) {
    propagators.getTextMapPropagator().inject(Context.current(), carrier, setter);
  }

  private static java.util.logging.Logger quiet(String name) {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
    logger.setLevel(java.util.logging.Level.SEVERE);
    return logger;
  }

  @Override
  public void close() {
    if (provider != null) {
      provider.close();
    }
  }
}
