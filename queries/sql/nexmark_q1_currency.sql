-- NEXMark Q1 (the twin of queries/nexmark_q1_currency.toml): prices in euros. As
-- nexmark-flink writes it but for the CREATE TABLE and `ts` standing for dateTime
-- (no `extra`).
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

SELECT auction, bidder, 0.908 * price AS price, ts FROM bid;
