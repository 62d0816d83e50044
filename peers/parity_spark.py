"""Parity cases on real Spark Structured Streaming (PySpark 4.3): for each case, count, sum
and max of `v` per `key` per event-time window (tumbling, sliding or session) with a
watermark, in append or update mode, over a directory of JSON Lines files read one file
per micro-batch (`maxFilesPerTrigger=1`, trigger `availableNow`). Every row is written
with the id of the batch that emitted it, so the lab's micro-batch engine (one batch per
`--max-records-per-batch` lines) can be compared with Spark batch by batch. Run by the
test `harness/cli/tests/peers_parity.rs`; by hand:

    python peers/parity_spark.py --cases cases.json

`cases.json` is a list of objects: `name`, `input` (directory), `output` (rows file),
`window` (`{"kind": "tumbling"|"sliding"|"session", "size_ms", "slide_ms", "gap_ms"}`),
`delay_ms`, `mode` (`append`|`update`). Beside each output, `OUTPUT.batches.json` lists
the batches Spark ran (id, input rows, watermark), no-data batches included.

All cases share one session (Spark's start-up is paid once); each has a checkpoint
directory of its own, removed first, so no case resumes another's offsets.
"""

import argparse
import json
import os
import shutil


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    args = ap.parse_args()
    cases = json.load(open(args.cases))

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("streamlab-parity")
        .config("spark.sql.shuffle.partitions", "2")
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
            StructField("v", LongType()),
        ]
    )
    for case in cases:
        run_case(spark, F, schema, case)
    spark.stop()


def window_column(F, w):
    """Spark's window of `et` for the case's window."""
    if w["kind"] == "tumbling":
        return F.window("et", f"{w['size_ms']} milliseconds")
    if w["kind"] == "sliding":
        return F.window("et", f"{w['size_ms']} milliseconds", f"{w['slide_ms']} milliseconds")
    if w["kind"] == "session":
        return F.session_window("et", f"{w['gap_ms']} milliseconds")
    raise ValueError(f"unknown window kind {w['kind']}")


def run_case(spark, F, schema, case):
    events = (
        spark.readStream.schema(schema)
        .option("maxFilesPerTrigger", 1)
        .json(case["input"])
        .withColumn("et", F.timestamp_millis("ts"))
    )
    win = window_column(F, case["window"])
    rows = (
        events.withWatermark("et", f"{case['delay_ms']} milliseconds")
        .groupBy(win.alias("w"), F.col("key"))
        .agg(F.count(F.lit(1)).alias("n"), F.sum("v").alias("s"), F.max("v").alias("hi"))
        .select(
            F.unix_millis(F.col("w.start")).alias("window_start"),
            F.unix_millis(F.col("w.end")).alias("window_end"),
            "key",
            "n",
            "s",
            "hi",
        )
    )
    checkpoint = os.path.abspath(case["output"]) + ".spark-checkpoint"
    shutil.rmtree(checkpoint, ignore_errors=True)
    out = open(case["output"], "w")

    def batch(df, batch_id):
        for r in df.collect():
            d = r.asDict()
            d["batch"] = batch_id
            out.write(json.dumps(d, separators=(",", ":")) + "\n")

    query = (
        rows.writeStream.outputMode(case["mode"])
        .foreachBatch(batch)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    out.close()
    batches = [
        {
            "batch": p["batchId"],
            "input_rows": p.get("numInputRows", 0),
            "watermark": p.get("eventTime", {}).get("watermark"),
        }
        for p in query.recentProgress
    ]
    json.dump(batches, open(case["output"] + ".batches.json", "w"))
    shutil.rmtree(checkpoint, ignore_errors=True)


if __name__ == "__main__":
    main()
