"""The hand-written baseline of the speed-layer catch-up benchmark: kafka-python consuming a topic
and counting page views per (url, hour) in a dict, as the original example suggests.

Usage: count_pageviews.py BOOTSTRAP TOPIC GROUP EXPECTED_RECORDS
Prints one JSON line: milliseconds from the partitions' assignment to the last record, the
process's CPU time over the same span (ms), groups counted.
"""
import json
import sys
import time

from kafka import ConsumerRebalanceListener, KafkaConsumer

bootstrap, topic, group, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
assigned_at = []
assigned_cpu = []


class Assigned(ConsumerRebalanceListener):
    def on_partitions_assigned(self, assigned):
        if assigned and not assigned_at:
            assigned_at.append(time.monotonic())
            assigned_cpu.append(time.process_time())

    def on_partitions_revoked(self, revoked):
        pass


consumer = KafkaConsumer(
    bootstrap_servers=bootstrap,
    group_id=group,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    max_partition_fetch_bytes=8 * 1024 * 1024,
    fetch_max_bytes=64 * 1024 * 1024,
)
consumer.subscribe([topic], listener=Assigned())
counts = {}
seen = 0
deadline = time.monotonic() + 600
while seen < expected and time.monotonic() < deadline:
    for records in consumer.poll(timeout_ms=200, max_records=10000).values():
        for record in records:
            seen += 1
            event = json.loads(record.value)
            if event.get("type") != "page_view":
                continue
            key = (event["url"], event["ts"] // 3_600_000)
            counts[key] = counts.get(key, 0) + 1
done = time.monotonic()
done_cpu = time.process_time()
consumer.close()
print(json.dumps({"ok": seen >= expected, "seen": seen, "groups": len(counts), "ms": (done - (assigned_at[0] if assigned_at else done)) * 1000, "cpuMs": (done_cpu - (assigned_cpu[0] if assigned_cpu else done_cpu)) * 1000}))
