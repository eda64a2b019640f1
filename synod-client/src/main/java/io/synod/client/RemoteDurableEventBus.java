package io.synod.client;

import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.proto.v1.EventsGrpc;
import io.synod.proto.v1.SubscribeRequest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable event bus of a synod server or cluster over gRPC ({@link SynodClient#eventBus()}):
 * the same {@link DurableEventBus} as an embedded node's.
 *
 * <p><b>Publishing</b> goes to the leader (any server forwards it) and is retried on the next
 * server after UNAVAILABLE, so an event may be appended twice; delivery is at least once anyway.
 *
 * <p><b>Subscribing</b> opens a Subscribe stream to one server, on a thread of the
 * subscription's own: each event is handed to the handler, and once the handler returned the
 * client sends Acknowledge for it to the same server, which only then sends the next event. A
 * handler that throws gets the same event again here, after a pause that doubles from 100 ms up
 * to 5 s. If the stream fails (the server went away, an acknowledgement could not be sent), it is
 * reopened, after a backoff, on the next server, and the group resumes after its last
 * acknowledged event there: an event whose acknowledgement was lost comes again. A group is
 * delivered through one stream per server; subscribe it once.
 */
final class RemoteDurableEventBus implements DurableEventBus, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteDurableEventBus.class);
  private static final long REDELIVERY_MS = 100;
  private static final long REDELIVERY_MAX_MS = 5_000;
  private static final long CLOSE_WAIT_MS = 10_000;

  private final SynodClient client;
  private final List<Endpoint> endpoints;
  private final IntSupplier firstEndpoint;
  private final Backoff backoff;
  private final Executor executor;
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  RemoteDurableEventBus(SynodClient client, List<Endpoint> endpoints, IntSupplier firstEndpoint,
      Backoff backoff, Executor executor) {
    this.client = client;
    this.endpoints = endpoints;
    this.firstEndpoint = firstEndpoint;
    this.backoff = backoff;
    this.executor = executor;
  }

  @Override
  public CompletableFuture<Long> publish(Event event) {
    Objects.requireNonNull(event, "event");
    try {
      return CompletableFuture.supplyAsync(() -> client.call("publish " + event.type(),
          SynodClient::isUnavailable, endpoint -> endpoint.events().publish(event)), executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new SynodException(ErrorCode.UNAVAILABLE,
          "the executor of this SynodClient refused the call: " + e.getMessage(), e));
    }
  }

  /** Checks the group and types as a server does, then opens the stream (in the background). */
  @Override
  public Subscription subscribe(String consumerGroup, Set<String> types, Handler handler) {
    Objects.requireNonNull(handler, "handler");
    if (closed) {
      throw new IllegalStateException("this SynodClient is closed");
    }
    Event.requireType("consumer_group", consumerGroup);
    if (types == null || types.isEmpty()) {
      throw SynodException.invalid("types", "must name at least one event type");
    }
    types.forEach(type -> Event.requireType("types", type));
    Stream stream = new Stream(consumerGroup, new TreeSet<>(types), handler);
    streams.add(stream);
    stream.thread.start();
    return stream;
  }

  @Override
  public long acknowledged(String consumerGroup) {
    return client.call("acknowledged offset of " + consumerGroup, SynodClient::isUnavailable,
        endpoint -> endpoint.events().acknowledged(consumerGroup));
  }

  @Override
  public void close() {
    closed = true;
    new ArrayList<>(streams).forEach(Stream::close);
  }

  /** One subscription: its thread opens the stream, delivers, acknowledges, and reopens. */
  private final class Stream implements Subscription {
    private final String group;
    private final SubscribeRequest request;
    private final Handler handler;
    private final Thread thread;
    private volatile boolean closed;
    private volatile Context.CancellableContext call;

    Stream(String group, Set<String> types, Handler handler) {
      this.group = group;
      this.request = SubscribeRequest.newBuilder().setConsumerGroup(group).addAllTypes(types)
          .build();
      this.handler = handler;
      this.thread = Thread.ofPlatform().daemon().name("synod-subscription-" + group)
          .unstarted(this::run);
    }

    @Override
    public String consumerGroup() {
      return group;
    }

    /** Ends the stream (an event handled but not yet acknowledged comes again). */
    @Override
    public void close() {
      closed = true;
      Context.CancellableContext current = call;
      if (current != null) {
        current.cancel(null);
      }
      if (Thread.currentThread() == thread) {
        return;
      }
      thread.interrupt();
      try {
        thread.join(CLOSE_WAIT_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    private void run() {
      int index = firstEndpoint.getAsInt();
      int failures = 0;
      try {
        while (!closed && !RemoteDurableEventBus.this.closed) {
          Endpoint endpoint = endpoints.get(index);
          try {
            if (stream(endpoint)) {
              failures = 0;
            }
            if (closed) {
              break;
            }
            LOG.debug("event group {}: the stream to {} ended; reopening", group,
                endpoint.address());
          } catch (StatusRuntimeException | SynodException e) {
            if (closed) {
              break;
            }
            LOG.info("event group {}: the stream to {} failed ({}); reopening on the next"
                + " server", group, endpoint.address(), e.getMessage());
          }
          endpoint.reconnectSoon();
          index = (index + 1) % endpoints.size();
          Thread.sleep(backoff.millis(++failures));
        }
      } catch (InterruptedException e) {
        // closing
      } finally {
        streams.remove(this);
      }
    }

    /** One stream, until it ends or fails; true if it delivered anything. */
    private boolean stream(Endpoint endpoint) throws InterruptedException {
      Context.CancellableContext context = Context.ROOT.withCancellation();
      call = context;
      if (closed) {
        context.cancel(null);
        return false;
      }
      boolean delivered = false;
      try {
        Iterator<io.synod.proto.v1.Event> events = context.call(
            () -> EventsGrpc.newBlockingStub(endpoint.channel()).subscribe(request));
        while (events.hasNext()) {
          Event event = EventProtoMapping.fromDelivered(events.next());
          if (!deliver(event)) {
            return delivered;
          }
          // Outside the stream's context: a close after the handler returned still acknowledges.
          endpoint.events().acknowledge(group, event.offset());
          delivered = true;
        }
        return delivered;
      } catch (StatusRuntimeException e) {
        throw ProtoMapping.fromStatus(e);
      } catch (InterruptedException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e); // context.call declares Exception
      } finally {
        context.cancel(null);
      }
    }

    /** Hands the event to the handler until it returns normally; false if closed first. */
    private boolean deliver(Event event) throws InterruptedException {
      long pauseMs = REDELIVERY_MS;
      for (int attempt = 1; ; attempt++) {
        try {
          handler.handle(event);
          return true;
        } catch (InterruptedException e) {
          throw e;
        } catch (Exception e) {
          LOG.warn("event group {}: handler failed on {} offset {} correlation {} (attempt {}:"
              + " {}); delivering it again in {} ms", group, event.type(), event.offset(),
              event.correlationId(), attempt, e, pauseMs, attempt == 1 ? e : null);
        }
        if (closed) {
          return false;
        }
        Thread.sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, REDELIVERY_MAX_MS);
      }
    }
  }
}
