-- Likes per video over processing-time windows (the twin of
-- queries/likes_processing_time.toml): the window's time column is PROCTIME(). The
-- table's event time stays declared: the oracle places events by it.
CREATE TABLE likes (
  ts BIGINT,
  video STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  pt AS PROCTIME(),
  WATERMARK FOR et AS et
);

SELECT window_start, window_end, video, COUNT(*) AS likes
FROM TABLE(TUMBLE(TABLE likes, DESCRIPTOR(pt), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, video;
