-- Likes per video per 10 s window (the twin of queries/likes.toml; run with
-- --output-mode complete).
CREATE TABLE likes (
  ts BIGINT,
  video STRING,
  `user` STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '5' SECOND
);

SELECT window_start, window_end, video, COUNT(*) AS likes
FROM TABLE(TUMBLE(TABLE likes, DESCRIPTOR(et), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, video;
