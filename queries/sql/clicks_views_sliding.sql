-- Views per key in 1 minute windows sliding every 10 s (the twin of
-- queries/clicks_views_sliding.toml; run with --output-mode update). HOP takes the slide
-- before the size, as in Flink.
CREATE TABLE clicks (
  ts BIGINT,
  `key` STRING,
  `value` BIGINT,
  kind STRING,
  `user` STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '5' SECOND
);

SELECT window_start, window_end, `key`, COUNT(*) AS views, COUNT(DISTINCT `user`) AS users
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
WHERE kind = 'view'
GROUP BY window_start, window_end, `key`;
