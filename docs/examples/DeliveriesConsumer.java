// A partner's system reading its deliveries topic with Kafka's Java client (kafka-clients 2.7 or
// newer for the PEM trust store; 3.x or 4.x advised), written from docs/integration.md alone.
//
//   java -cp "<kafka-clients and its dependencies>" DeliveriesConsumer.java consumer.properties \
//       deliveries.kommun-1489 [seconds] [event id to stop at]
//
// consumer.properties holds the settings of docs/integration.md ("By Kafka"). Each record is
// printed as one line: "record", partition, offset, then key, headers (name=value,...) and value in base64,
// so that a test can read it back byte for byte. Offsets are committed after the records are
// handled, never before.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;

public class DeliveriesConsumer {
    private static final Base64.Encoder BASE64 = Base64.getEncoder();

    public static void main(String[] args) throws Exception {
        Properties settings = new Properties();
        try (var in = Files.newInputStream(Path.of(args[0]))) {
            settings.load(in);
        }
        String topic = args[1];
        Instant end = Instant.now().plusSeconds(args.length > 2 ? Long.parseLong(args[2]) : 30);
        String stopAt = args.length > 3 ? args[3] : null;
        try (var consumer = new KafkaConsumer<byte[], byte[]>(settings)) {
            consumer.subscribe(List.of(topic));
            boolean found = false;
            while (!found && Instant.now().isBefore(end)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    handle(record);  // store it, de-duplicated by the CloudEvent's id
                    found |= stopAt != null && new String(record.value(), StandardCharsets.UTF_8).contains(stopAt);
                }
                consumer.commitSync();  // only what was handled
            }
            if (!found && stopAt != null) {
                System.exit(3);
            }
        }
    }

    private static void handle(ConsumerRecord<byte[], byte[]> record) {
        StringBuilder headers = new StringBuilder();
        for (Header header : record.headers()) {
            headers.append(headers.length() == 0 ? "" : ",").append(header.key()).append('=')
                   .append(BASE64.encodeToString(header.value()));
        }
        System.out.println("record " + record.partition() + " " + record.offset() + " "
                + (record.key() == null ? "-" : BASE64.encodeToString(record.key())) + " "
                + (headers.length() == 0 ? "-" : headers) + " " + BASE64.encodeToString(record.value()));
    }
}
