package dev.strata.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.tools.ProducerPerformance;

/**
 * Kafka's own ProducerPerformance, run again and again in one JVM so that the rounds the
 * benchmark measures run on a warmed JIT (issue 15: a cold JVM each round understated it).
 *
 * <p>Each line on stdin is one run: ProducerPerformance's arguments separated by tabs. The tool
 * prints its own summary ("N records sent, R records/sec …"); after it this prints one JSON line
 * with the JVM's CPU time over the run (every thread: the producer's sender and I/O, GC, JIT).
 * ProducerPerformance.main returns normally after a run (it exits only on bad arguments).
 */
public final class WarmProducerPerformance {
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("{\"ready\":true}");
    System.out.flush();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      long cpu0 = cpuNanos();
      long t0 = System.nanoTime();
      ProducerPerformance.main(line.split("\t"));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("{\"done\":true,\"cpuMs\":%.1f,\"wallMs\":%d}%n", (cpuNanos() - cpu0) / 1e6, ms);
      System.out.flush();
    }
  }
}
