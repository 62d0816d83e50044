-- NEXMark Q21 (the twin of queries/nexmark_q21_add_channel_id.toml), as nexmark-flink
-- writes it: the bids of the hot channels and of channels whose URL names a channel id,
-- with that id. Changed: the CREATE TABLE (the lab's generated bids: `ts` in epoch ms
-- for dateTime, no `extra`).
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
    CASE
        WHEN lower(channel) = 'apple' THEN '0'
        WHEN lower(channel) = 'google' THEN '1'
        WHEN lower(channel) = 'facebook' THEN '2'
        WHEN lower(channel) = 'baidu' THEN '3'
        ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
        END
    AS channel_id FROM bid
    where REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) is not null or
          lower(channel) in ('apple', 'google', 'facebook', 'baidu');
