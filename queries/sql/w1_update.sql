-- W1 in update mode (the twin of queries/w1_update.toml): SQL has no output mode, so run
-- it with --output-mode update, as Spark sets the mode on the sink.
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
