-- Activity sessions per service path, 5 s of silence apart (the twin of
-- queries/logs_sessions.toml).
CREATE TABLE logs (
  ts BIGINT,
  path STRING,
  status INT,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '2' SECOND
);

SELECT window_start, window_end, path, COUNT(*) AS requests, MIN(status) AS min_status
FROM TABLE(SESSION(TABLE logs PARTITION BY path, DESCRIPTOR(et), INTERVAL '5' SECOND))
GROUP BY window_start, window_end, path;
