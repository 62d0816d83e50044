"""W1 on real Flink (PyFlink 2.3, Table API): count and sum of `value` per `key` per 10 s
tumbling event-time window (a window TVF), watermark 5 s, over a JSON Lines file read by
the bounded filesystem source. Run by `streamlab experiment peers`; by hand:

    python peers/flink_w1.py --input clicks.jsonl --output rows.jsonl --stats stats.json

Writes the rows in streamlab's result format (window_start, window_end, key, n, total)
through Flink's filesystem sink (then gathered into --output), and stats: events (the
input's lines), seconds from submitting the job to its end (reading and parsing JSON
included), seconds to the first bytes the sink wrote (its first result). At the end of a
bounded input Flink emits a final watermark, so every window is emitted.
"""

import argparse
import json
import os
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True, help="a .jsonl file")
    ap.add_argument("--output", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--parallelism", type=int, default=1)
    args = ap.parse_args()

    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = env.get_config()
    conf.set("parallelism.default", str(args.parallelism))
    conf.set("pipeline.auto-watermark-interval", "0")
    conf.set("table.local-time-zone", "UTC")
    conf.set("rest.address", "127.0.0.1")
    conf.set("rest.bind-address", "127.0.0.1")
    conf.set("jobmanager.rpc.address", "127.0.0.1")
    conf.set("taskmanager.host", "127.0.0.1")
    env.execute_sql(
        f"""
        CREATE TABLE clicks (
            ts BIGINT, `key` STRING, `value` BIGINT, kind STRING, `user` STRING,
            et AS TO_TIMESTAMP_LTZ(ts, 3),
            WATERMARK FOR et AS et - INTERVAL '5' SECOND
        ) WITH ('connector' = 'filesystem', 'path' = '{args.input}', 'format' = 'json')
        """
    )
    out_dir = args.output + ".parts"
    env.execute_sql(
        f"""
        CREATE TABLE w1 (
            window_start BIGINT, window_end BIGINT, `key` STRING, n BIGINT, total BIGINT
        ) WITH ('connector' = 'filesystem', 'path' = '{out_dir}', 'format' = 'json')
        """
    )
    # The first result: the first bytes the sink writes (its in-progress part files too).
    first = {}
    started = time.monotonic()

    def watch():
        while "done" not in first:
            if os.path.isdir(out_dir):
                for root, _, files in os.walk(out_dir):
                    if any(os.path.getsize(os.path.join(root, f)) > 0 for f in files):
                        first.setdefault("first", time.monotonic() - started)
                        return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    env.execute_sql(
        """
        INSERT INTO w1
        SELECT UNIX_TIMESTAMP(CAST(window_start AS STRING)) * 1000,
               UNIX_TIMESTAMP(CAST(window_end AS STRING)) * 1000,
               `key`, COUNT(*), SUM(`value`)
        FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND))
        GROUP BY window_start, window_end, `key`
        """
    ).wait()
    elapsed = time.monotonic() - started
    first["done"] = True
    rows = 0
    with open(args.output, "w") as out:
        for root, _, files in sorted(os.walk(out_dir)):
            for name in sorted(files):
                if name.startswith("."):
                    continue
                with open(os.path.join(root, name)) as part:
                    for line in part:
                        out.write(line)
                        rows += 1
    with open(args.input, "rb") as f:
        events = sum(1 for _ in f)
    json.dump(
        {
            "engine": "flink",
            "events": events,
            "run_s": elapsed,
            "first_result_s": first.get("first"),
            "rows": rows,
        },
        open(args.stats, "w"),
    )


if __name__ == "__main__":
    main()
