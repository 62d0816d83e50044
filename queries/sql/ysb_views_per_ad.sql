-- YSB before its campaign join (the twin of queries/ysb_views_per_ad.toml): views per ad
-- in 10 s tumbling windows, over `streamlab gen --workload ysb`.
CREATE TABLE ad_events (
  ts BIGINT,
  ad_id STRING,
  event_type STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '2' SECOND
);

SELECT window_start, window_end, ad_id, COUNT(*) AS views
FROM TABLE(TUMBLE(TABLE ad_events, DESCRIPTOR(et), INTERVAL '10' SECOND))
WHERE event_type = 'view'
GROUP BY window_start, window_end, ad_id;
