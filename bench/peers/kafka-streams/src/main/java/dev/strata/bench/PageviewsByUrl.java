package dev.strata.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.TimeWindows;

/**
 * pageviews_by_url as a Kafka Streams application: page views (type = page_view) per url per
 * 1 h tumbling event-time window, counted into a persistent (RocksDB) window store.
 *
 * <p>Usage: PageviewsByUrl BOOTSTRAP TOPIC APP_ID GUARANTEE EXPECTED STATE_DIR
 *
 * <p>The event time is the record timestamp, which the benchmark's producer sets to the event's
 * `ts` field (the field Strata reads), so the value is parsed once, in the flatMap. The re-keyed
 * record carries only the url; the re-key goes through a repartition topic, as grouping by a new
 * key does in Kafka Streams.
 * The grace period is long so events arriving out of order across partitions are all counted.
 * Done when the aggregator has folded EXPECTED page views; prints one JSON line with the
 * milliseconds from the moment the application is RUNNING (partitions assigned) to that moment.
 */
public final class PageviewsByUrl {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    String appId = args[2];
    String guarantee = args[3];
    long expected = Long.parseLong(args[4]);
    String stateDir = args[5];

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // Strata's speed layer commits every 100 ms; the same cadence here (the default for
    // exactly_once_v2, 30 s for at_least_once).
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    AtomicLong folded = new AtomicLong();
    AtomicLong firstRecordAt = new AtomicLong();
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(topic, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMap((key, value) -> {
          firstRecordAt.compareAndSet(0, System.nanoTime());
          JsonNode node;
          try {
            node = MAPPER.readTree(value);
          } catch (Exception e) {
            return List.<KeyValue<String, String>>of();
          }
          if (!"page_view".equals(node.path("type").asText())) return List.<KeyValue<String, String>>of();
          return List.of(KeyValue.pair(node.path("url").asText(), "1"));
        })
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofHours(1), Duration.ofDays(365)))
        .aggregate(
            () -> 0L,
            (url, one, total) -> {
              folded.incrementAndGet();
              return total + 1;
            },
            Materialized.with(Serdes.String(), Serdes.Long()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    AtomicLong runningAt = new AtomicLong();
    streams.setStateListener((next, previous) -> {
      if (next == KafkaStreams.State.RUNNING) runningAt.compareAndSet(0, System.nanoTime());
    });
    long started = System.nanoTime();
    streams.start();
    long deadline = started + Duration.ofMinutes(10).toNanos();
    while (folded.get() < expected && System.nanoTime() < deadline) Thread.sleep(5);
    long done = System.nanoTime();
    boolean ok = folded.get() >= expected;
    streams.close(Duration.ofSeconds(30));
    streams.cleanUp();
    // The application's internal topics (repartition, changelog) and its group are this run's.
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      List<String> internal = admin.listTopics().names().get().stream().filter(t -> t.startsWith(appId + "-")).toList();
      admin.deleteTopics(internal).all().get();
      admin.deleteConsumerGroups(List.of(appId)).all().get();
    } catch (Exception e) {
      System.err.println("cleanup: " + e);
    }
    System.out.printf(
        "{\"ok\":%b,\"folded\":%d,\"ms\":%.1f,\"fromFirstRecordMs\":%.1f,\"startupMs\":%.1f}%n",
        ok, folded.get(), (done - runningAt.get()) / 1e6, (done - firstRecordAt.get()) / 1e6, (runningAt.get() - started) / 1e6);
    System.exit(ok ? 0 : 1);
  }
}
