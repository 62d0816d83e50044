-- NEXMark Q7, approximated (the twin of queries/nexmark_q7_max_price.toml): the largest
-- bid price per 10 s tumbling window; joining it back to its bid needs a second stage.
CREATE TABLE bid (
  ts BIGINT,
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel STRING,
  url STRING,
  et AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR et AS et - INTERVAL '2' SECOND
);

SELECT window_start, window_end, MAX(price) AS max_price, COUNT(*) AS bids
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(et), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
