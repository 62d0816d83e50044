-- NEXMark Q2 (the twin of queries/nexmark_q2_selection.toml), as nexmark-flink writes
-- it: the bids on every 123rd auction.
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

SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
