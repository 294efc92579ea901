# The example Strata grew from: a kafka-python producer and consumer on localhost:9092.
# It runs unchanged against `strata kafka start`, with only what kafka-python itself needs:
# the value is sent as bytes, and the consumer reads from the earliest offset and stops
# after a timeout instead of waiting forever.
from kafka import KafkaConsumer, KafkaProducer

producer = KafkaProducer(bootstrap_servers='localhost:9092')
producer.send('test_topic', b'Hello, Kafka!')
producer.flush()

consumer = KafkaConsumer(
    'test_topic',
    bootstrap_servers='localhost:9092',
    auto_offset_reset='earliest',
    consumer_timeout_ms=10000,
)
for message in consumer:
    print(message.value.decode('utf-8'))
