package dev.strata.spark;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * One Spark batch run of Strata (docs/batch-on-spark.md), the Hadoop Streaming pattern:
 *
 * <pre>
 *   tasks file ──parallelize──▶ pipe(strata task fold) ──partitionBy(group)──▶ pipe(strata task combine) ──▶ out file
 * </pre>
 *
 * A fold task reads one JSON task line (partition, offset range) and prints one line per (view,
 * window, key) it folded, {@code <group>\t<state>}, and one {@code "meta"} line (events, errors).
 * The shuffle sends every line of a group to one combine task, which combines the states with the
 * view's monoid. Spark retries a failed task (a task process that exited non-zero, an executor
 * that died): the output of a failed attempt is never part of the shuffle, so nothing is counted
 * twice or lost. The driver only moves lines; the Node process that started it reads the output
 * file and stages the version.
 *
 * <p>Arguments: tasks file, out file, combine partitions, fold command, combine command; each
 * command is its words joined by U+001F (no JSON library here; no word holds that character).
 */
public final class BatchDriver {
  private BatchDriver() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 5) {
      System.err.println(
          "usage: BatchDriver <tasks file> <out file> <combine partitions> <fold command> <combine command>");
      System.exit(2);
    }
    Path tasksFile = Paths.get(args[0]);
    Path outFile = Paths.get(args[1]);
    int combinePartitions = Integer.parseInt(args[2]);
    List<String> fold = command(args[3]);
    List<String> combine = command(args[4]);
    List<String> tasks = Files.readAllLines(tasksFile, StandardCharsets.UTF_8);

    SparkConf conf = new SparkConf().setAppName("strata-batch");
    // Object storage's credentials and endpoint for the task processes, from this JVM's
    // environment (names listed by the Node process), never from a command line.
    String names = System.getenv("STRATA_EXECUTOR_ENV");
    if (names != null && !names.isEmpty()) {
      for (String name : names.split(",")) {
        String value = System.getenv(name);
        if (value != null) conf.setExecutorEnv(name, value);
      }
    }
    // The driver never outlives the process that started it (docs/one-writer.md): that process
    // holds this JVM's stdin open and writes nothing, so EOF means it is gone (even after kill -9).
    daemon("strata-parent-watch", BatchDriver::exitWhenStdinCloses);
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      sc.setLogLevel("WARN");
      long noExecutorMs = Long.getLong("strata.noExecutorMs", 120_000L);
      long progressMs = Long.getLong("strata.progressMs", 10_000L);
      daemon("strata-job-watch", () -> watchJob(sc, noExecutorMs, progressMs));
      // One Spark task per fold task: Spark schedules them across the executors' cores.
      JavaRDD<String> folded = sc.parallelize(tasks, Math.max(1, tasks.size())).pipe(fold);
      JavaPairRDD<String, String> byGroup =
          folded.mapToPair(
              line -> {
                int tab = line.indexOf('\t');
                if (tab < 0) throw new IllegalStateException("a fold line without a tab: " + line);
                return new Tuple2<>(line.substring(0, tab), line);
              });
      JavaRDD<String> combined =
          byGroup.partitionBy(new HashPartitioner(combinePartitions)).values().pipe(combine);
      Path partial = outFile.resolveSibling(outFile.getFileName() + ".partial");
      long lines = 0;
      try (BufferedWriter out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
        Iterator<String> it = combined.toLocalIterator();
        while (it.hasNext()) {
          out.write(it.next());
          out.write('\n');
          lines++;
        }
      }
      // The output is whole or absent: the Node side never reads a half-written file.
      Files.move(partial, outFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      System.err.println("strata-batch: " + tasks.size() + " fold tasks, " + lines + " lines out");
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    thread.start();
  }

  private static void exitWhenStdinCloses() {
    try {
      while (System.in.read() >= 0) {
        // Nothing is ever written; read until EOF.
      }
    } catch (IOException e) {
      // A broken stdin means the same: the parent is gone.
    }
    System.err.println("strata-batch: ERROR the process that started this driver is gone; stopping");
    Runtime.getRuntime().halt(3);
  }

  /**
   * Fails the job when no executor is registered for noExecutorMs (every worker died, or none
   * came up): Spark itself would wait forever for resources. Prints the progress of the active
   * stages every progressMs, so a long job is visibly alive.
   */
  private static void watchJob(JavaSparkContext sc, long noExecutorMs, long progressMs) {
    long since = System.currentTimeMillis();
    long lastProgress = since;
    while (true) {
      try {
        Thread.sleep(Math.min(1000L, Math.max(100L, noExecutorMs / 4)));
      } catch (InterruptedException e) {
        return;
      }
      long now = System.currentTimeMillis();
      // The job ended (main stops the context): nothing left to watch.
      if (sc.sc().isStopped()) return;
      // Block managers: the driver's own and one per registered executor.
      int executors;
      try {
        executors = sc.sc().getExecutorMemoryStatus().size() - 1;
      } catch (IllegalStateException stopped) {
        return;
      }
      if (sc.master().startsWith("local") || executors > 0) since = now;
      else if (now - since >= noExecutorMs) {
        System.err.println(
            "strata-batch: ERROR no executor for "
                + (noExecutorMs / 1000)
                + " s: are the workers up? strata spark status");
        Runtime.getRuntime().halt(4);
      }
      if (now - lastProgress >= progressMs) {
        lastProgress = now;
        StringBuilder line = new StringBuilder();
        for (int id : sc.statusTracker().getActiveStageIds()) {
          org.apache.spark.SparkStageInfo stage = sc.statusTracker().getStageInfo(id);
          if (stage == null) continue;
          line.append(" stage ").append(id).append(": ")
              .append(stage.numCompletedTasks()).append('/').append(stage.numTasks())
              .append(" tasks done (").append(stage.numActiveTasks()).append(" running);");
        }
        System.err.println("strata-batch: progress: " + executors + " executors;" + line);
      }
    }
  }

  /** A command passed as one argument, its words separated by U+001F (a NUL cannot be in argv). */
  static List<String> command(String joined) {
    return new ArrayList<>(Arrays.asList(joined.split("\u001f")));
  }
}
