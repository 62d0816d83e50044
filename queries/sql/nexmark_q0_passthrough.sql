-- NEXMark Q0 (the twin of queries/nexmark_q0_passthrough.toml), as nexmark-flink writes
-- it: SELECT * FROM bid. Changed: the CREATE TABLE (the lab's generated bids: `ts` in
-- epoch ms for dateTime, no `extra`).
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

SELECT * FROM bid;
