-- NEXMark Q22 (the twin of queries/nexmark_q22_get_url_directories.toml), as
-- nexmark-flink writes it: each bid with the first three directories of its URL.
-- Changed: the CREATE TABLE (the lab's generated bids: `ts` in epoch ms for dateTime, no
-- `extra`).
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

SELECT
    auction, bidder, price, channel,
    SPLIT_INDEX(url, '/', 3) as dir1,
    SPLIT_INDEX(url, '/', 4) as dir2,
    SPLIT_INDEX(url, '/', 5) as dir3 FROM bid;
