-- NEXMark Q11 (the twin of queries/nexmark_q11_user_sessions.toml): bids per bidder in
-- sessions closed by 10 s without a bid. nexmark-flink writes it with the legacy group
-- window (`GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)` and
-- SESSION_START/SESSION_END); here it is the window table function Flink 2.x documents
-- instead, with the same sessions, and the CREATE TABLE reads the generator's `ts`.
CREATE TABLE bid (
  ts BIGINT,
  bidder BIGINT,
  dateTime AS TO_TIMESTAMP_LTZ(ts, 3),
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
);

SELECT window_start, window_end, bidder, COUNT(*) AS bid_count
FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, bidder;
