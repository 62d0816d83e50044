"""W1 on real Spark Structured Streaming (PySpark 4.3): count and sum of `value` per `key`
per 10 s tumbling event-time window, watermark 5 s, append mode, over the JSON Lines files
of a directory, one file per micro-batch (the lab's `--max-records-per-batch` is the
lines per file). Run by `streamlab experiment peers`; by hand:

    python peers/spark_w1.py --input DIR --output rows.jsonl --stats stats.json

Writes the rows in streamlab's result format (window_start, window_end, key, n, total),
and stats: events read, seconds from starting the query to its end (reading and parsing
JSON included, as Spark does them), seconds to the first result row. Spark's append mode
emits a window once a later batch's watermark has passed it, so the windows only the end
of input would close are never emitted (Spark has no end-of-input watermark).
"""

import argparse
import json
import os
import shutil
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True, help="directory of .jsonl files, one per batch")
    ap.add_argument("--output", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    spark = (
        SparkSession.builder.master(f"local[{args.cores}]")
        .appName("streamlab-w1")
        .config("spark.sql.shuffle.partitions", str(args.cores))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.streaming.schemaInference", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    schema = StructType(
        [
            StructField("ts", LongType()),
            StructField("key", StringType()),
            StructField("value", LongType()),
            StructField("kind", StringType()),
            StructField("user", StringType()),
        ]
    )
    clicks = (
        spark.readStream.schema(schema)
        .option("maxFilesPerTrigger", 1)
        .json(args.input)
        .withColumn("et", F.timestamp_millis("ts"))
    )
    w1 = (
        clicks.withWatermark("et", "5 seconds")
        .groupBy(F.window("et", "10 seconds"), F.col("key"))
        .agg(F.count(F.lit(1)).alias("n"), F.sum("value").alias("total"))
        .select(
            F.unix_millis(F.col("window.start")).alias("window_start"),
            F.unix_millis(F.col("window.end")).alias("window_end"),
            "key",
            "n",
            "total",
        )
    )
    # A checkpoint of this run's own: a directory shared between runs would make the next
    # run resume from the last one's offsets and state (and read nothing).
    checkpoint = os.path.abspath(args.output) + ".spark-checkpoint"
    shutil.rmtree(checkpoint, ignore_errors=True)
    out = open(args.output, "w")
    first = {}
    started = time.monotonic()

    def batch(df, batch_id):
        rows = df.collect()
        if rows and "first" not in first:
            first["first"] = time.monotonic() - started
        for r in rows:
            out.write(json.dumps(r.asDict(), separators=(",", ":")) + "\n")

    query = (
        w1.writeStream.outputMode("append")
        .foreachBatch(batch)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    elapsed = time.monotonic() - started
    out.close()
    batches = [p for p in query.recentProgress if p.get("numInputRows", 0) > 0]
    events = sum(p["numInputRows"] for p in query.recentProgress)
    json.dump(
        {
            "engine": "spark",
            "version": spark.version,
            "events": events,
            "run_s": elapsed,
            "first_result_s": first.get("first"),
            "batches": len(batches),
        },
        open(args.stats, "w"),
    )
    spark.stop()


if __name__ == "__main__":
    main()
