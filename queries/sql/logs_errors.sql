-- Errors per service per 10 s window with latency statistics (the twin of
-- queries/logs_errors.toml), over `streamlab gen --workload logs`.
CREATE TABLE logs (
  ts BIGINT,
  service STRING,
  latency_ms BIGINT,
  level STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '2' SECOND
);

SELECT window_start, window_end, service,
       COUNT(*) AS errors, AVG(latency_ms) AS avg_latency_ms, MAX(latency_ms) AS max_latency_ms
FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(et), INTERVAL '10' SECOND))
WHERE level = 'ERROR'
GROUP BY window_start, window_end, service;
