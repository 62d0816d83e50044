"""Parity cases on real Flink (PyFlink 2.3, Table API): for each case, count, sum and max
of `v` per `key` per event-time window (a TUMBLE, HOP or SESSION window table function)
with a bounded-out-of-orderness watermark, over a JSON Lines file read by the bounded
filesystem source, at parallelism 1 with a watermark after every record
(`pipeline.auto-watermark-interval` 0), so which records are late is decided record by
record, as the lab's record engine decides it. Run by the test
`harness/cli/tests/peers_parity.rs`; by hand:

    python peers/parity_flink.py --cases cases.json

`cases.json` is a list of objects: `name`, `input` (file), `output` (rows file), `window`
(`{"kind": "tumbling"|"sliding"|"session", "size_ms", "slide_ms", "gap_ms"}`),
`delay_ms`. Rows are written in streamlab's result format (`window_start`, `window_end`
in epoch milliseconds, `key`, `n`, `s`, `hi`). All cases share one table environment.
"""

import argparse
import json
from datetime import datetime, timezone


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    args = ap.parse_args()
    cases = json.load(open(args.cases))

    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = env.get_config()
    conf.set("parallelism.default", "1")
    conf.set("pipeline.auto-watermark-interval", "0")
    conf.set("table.local-time-zone", "UTC")
    conf.set("rest.address", "127.0.0.1")
    conf.set("rest.bind-address", "127.0.0.1")
    conf.set("jobmanager.rpc.address", "127.0.0.1")
    conf.set("taskmanager.host", "127.0.0.1")
    for i, case in enumerate(cases):
        run_case(env, f"events_{i}", case)


def interval(ms):
    """An interval of `ms` milliseconds (Flink SQL has no MILLISECOND unit: fractional
    seconds)."""
    return f"INTERVAL '{ms // 1000}.{ms % 1000:03d}' SECOND"


def window_tvf(table, w):
    """The window table function over `table` for the case's window."""
    if w["kind"] == "tumbling":
        return f"TUMBLE(TABLE {table}, DESCRIPTOR(et), {interval(w['size_ms'])})"
    if w["kind"] == "sliding":
        # HOP takes the slide before the size.
        return (
            f"HOP(TABLE {table}, DESCRIPTOR(et), {interval(w['slide_ms'])}, "
            f"{interval(w['size_ms'])})"
        )
    if w["kind"] == "session":
        return (
            f"SESSION(TABLE {table} PARTITION BY `key`, DESCRIPTOR(et), "
            f"{interval(w['gap_ms'])})"
        )
    raise ValueError(f"unknown window kind {w['kind']}")


def epoch_ms(text):
    """A `yyyy-MM-dd HH:mm:ss.SSS` UTC timestamp (DATE_FORMAT's output) in epoch ms."""
    t = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return round(t.timestamp() * 1000)


def run_case(env, table, case):
    env.execute_sql(
        f"""
        CREATE TEMPORARY TABLE {table} (
            ts BIGINT, `key` STRING, v BIGINT,
            et AS TO_TIMESTAMP_LTZ(ts, 3),
            WATERMARK FOR et AS et - {interval(case['delay_ms'])}
        ) WITH ('connector' = 'filesystem', 'path' = '{case['input']}', 'format' = 'json')
        """
    )
    fmt = "'yyyy-MM-dd HH:mm:ss.SSS'"
    result = env.execute_sql(
        f"""
        SELECT DATE_FORMAT(window_start, {fmt}), DATE_FORMAT(window_end, {fmt}),
               `key`, COUNT(*), SUM(v), MAX(v)
        FROM TABLE({window_tvf(table, case['window'])})
        GROUP BY window_start, window_end, `key`
        """
    )
    with open(case["output"], "w") as out, result.collect() as rows:
        for r in rows:
            row = {
                "window_start": epoch_ms(r[0]),
                "window_end": epoch_ms(r[1]),
                "key": r[2],
                "n": r[3],
                "s": r[4],
                "hi": r[5],
            }
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
