-- W1 (the twin of queries/w1.toml): 10 s tumbling count + sum per key, watermark 5 s,
-- over `streamlab gen --workload clicks`. The input comes from --input.
CREATE TABLE clicks (
  ts BIGINT,
  `key` STRING,
  `value` BIGINT,
  kind STRING,
  `user` STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '5' SECOND
);

SELECT window_start, window_end, `key`, COUNT(*) AS n, SUM(`value`) AS total
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, `key`;
