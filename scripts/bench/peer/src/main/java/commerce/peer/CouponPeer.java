package commerce.peer;

import commerce.peer.Messages.CouponInfo;
import commerce.peer.Messages.Holding;
import commerce.peer.Messages.IssueRequest;
import commerce.peer.Messages.IssueResult;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.AutoOffsetReset;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.CloseOptions.GroupMembershipOperation;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams peer of the coupon benchmark (scripts/bench/peer/peer.ts runs it):
 *
 * <pre>
 * java -cp 'coupon-peer-0.jar:libs/*' commerce.peer.CouponPeer --brokers 127.0.0.1:9092
 *   --application-id ID --input TOPIC --output TOPIC --coupons TOPIC --users TOPIC
 *   --guarantee exactly_once_v2|at_least_once --threads 2 --state-dir DIR
 * </pre>
 *
 * It reports its life on stdout, one JSON object a line, for the runner to time: {"event":"starting"}
 * just before KafkaStreams.start(), then each state it enters in lower case ({"event":"running"} when every
 * task is assigned and restored: group joined, global stores loaded), and {"event":"stopped"} after
 * close; each with "at", the epoch millisecond.
 * It runs until SIGTERM. Kafka's own logs go to stderr (warnings and errors only).
 */
public final class CouponPeer {
  private CouponPeer() {}

  public static void main(String[] argv) throws InterruptedException {
    Map<String, String> args = parse(argv);
    String guarantee = args.get("guarantee");
    if (!StreamsConfig.EXACTLY_ONCE_V2.equals(guarantee) && !StreamsConfig.AT_LEAST_ONCE.equals(guarantee))
      throw new IllegalArgumentException("--guarantee must be exactly_once_v2 or at_least_once, got " + guarantee);

    Properties config = new Properties();
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("application-id"));
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("brokers"));
    config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args.get("threads")));
    config.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    // The one broker here holds one replica of everything, the changelogs included.
    config.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    // Read the pre-loaded backlog from its start (Kafka Streams' default is earliest too; said for clarity).
    config.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // Everything else is Kafka Streams' default: commit.interval.ms 100 under exactly_once_v2 and 30000
    // under at_least_once, RocksDB with its default options, no record cache on the Processor API stores.

    KafkaStreams streams = new KafkaStreams(topology(args), config);
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean closing = new AtomicBoolean(false);
    streams.setUncaughtExceptionHandler(
        e -> {
          System.err.println("coupon-peer: stream thread failed: " + e);
          e.printStackTrace();
          return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    streams.setStateListener(
        (now, before) -> {
          event(now.name().toLowerCase(Locale.ROOT));
          if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) stopped.countDown();
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  closing.set(true);
                  // Kafka Streams stays in its group on close by default (a restart then needs no
                  // rebalance); this app ends for good, so it leaves, and its group can be deleted at once.
                  streams.close(
                      CloseOptions.timeout(Duration.ofSeconds(30))
                          .withGroupMembershipOperation(GroupMembershipOperation.LEAVE_GROUP));
                  event("stopped");
                }));
    event("starting");
    streams.start();
    stopped.await();
    // Stopped without SIGTERM: a stream thread failed (the handler above printed why). After SIGTERM
    // the shutdown hook decides the end.
    if (!closing.get()) System.exit(1);
  }

  /**
   * requests → CouponIssuer (its two RocksDB stores, logged to changelog topics) → results; the coupons
   * and users references are global stores, each loaded from a compacted topic into every instance.
   */
  static Topology topology(Map<String, String> args) {
    Topology topology = new Topology();
    topology.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(CouponIssuer.COUPONS_STORE),
                Serdes.String(),
                new JsonSerde<>(CouponInfo.class))
            .withLoggingDisabled(), // a global store's topic is its changelog
        "coupons-source",
        Serdes.String().deserializer(),
        new JsonSerde<>(CouponInfo.class).deserializer(),
        args.get("coupons"),
        "coupons-loader",
        () -> new ReferenceLoader<CouponInfo>(CouponIssuer.COUPONS_STORE));
    topology.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(CouponIssuer.USERS_STORE), Serdes.String(), Serdes.String())
            .withLoggingDisabled(),
        "users-source",
        Serdes.String().deserializer(),
        Serdes.String().deserializer(),
        args.get("users"),
        "users-loader",
        () -> new ReferenceLoader<String>(CouponIssuer.USERS_STORE));

    topology.addSource(
        AutoOffsetReset.earliest(),
        "requests",
        Serdes.String().deserializer(),
        new JsonSerde<>(IssueRequest.class).deserializer(),
        args.get("input"));
    topology.addProcessor("coupon-issuer", CouponIssuer::new, "requests");
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(CouponIssuer.ISSUED_STORE), Serdes.String(), Serdes.Integer()),
        "coupon-issuer");
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(CouponIssuer.HOLDERS_STORE),
            Serdes.String(),
            new JsonSerde<>(Holding.class)),
        "coupon-issuer");
    topology.addSink(
        "results",
        args.get("output"),
        Serdes.String().serializer(),
        new JsonSerde<>(IssueResult.class).serializer(),
        "coupon-issuer");
    return topology;
  }

  private static void event(String name) {
    System.out.println("{\"event\":\"" + name + "\",\"at\":" + System.currentTimeMillis() + "}");
    System.out.flush();
  }

  private static final String[] REQUIRED = {
    "brokers", "application-id", "input", "output", "coupons", "users", "guarantee", "threads", "state-dir"
  };

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --name value, got " + argv[i]);
      args.put(argv[i].substring(2), argv[i + 1]);
    }
    for (String name : REQUIRED)
      if (!args.containsKey(name)) throw new IllegalArgumentException("missing --" + name);
    return args;
  }
}
