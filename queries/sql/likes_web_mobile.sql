-- Union of two sources (the twin of queries/likes_web_mobile.toml): likes from the web
-- (2 s out of order at most) and from a mobile app whose events arrive up to 20 s late.
-- Each table has its own watermark; the query's is the minimum over them, so the mobile
-- likes are waited for instead of dropped.
CREATE TABLE web (
  ts BIGINT,
  video STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = '../data/likes-web.jsonl', 'format' = 'json');

CREATE TABLE mobile (
  ts BIGINT,
  video STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '20' SECOND
) WITH ('connector' = 'filesystem', 'path' = '../data/likes-mobile.jsonl', 'format' = 'json');

CREATE VIEW likes AS SELECT * FROM web UNION ALL SELECT * FROM mobile;

SELECT window_start, window_end, video, COUNT(*) AS likes
FROM TABLE(TUMBLE(TABLE likes, DESCRIPTOR(et), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, video;
