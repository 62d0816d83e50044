-- NEXMark Q20 (the twin of queries/nexmark_q20_expand_bid_with_auction.toml): every bid
-- of a category-10 auction beside its auction's columns, a regular join. As
-- nexmark-flink writes it, but for the CREATE TABLEs (both read the auction and bid lines
-- of one file and keep their own kind), the columns the generator lacks (`extra`,
-- `description`) and the times (`ts`, renamed as the TOML twin names them).
CREATE TABLE bid (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel STRING,
  url STRING,
  ts BIGINT,
  kind STRING
) WITH ('connector' = 'filesystem', 'path' = '../data/nexmark-auctions-bids.jsonl', 'format' = 'json');

CREATE TABLE auction (
  id BIGINT,
  item_name STRING,
  initial_bid BIGINT,
  reserve BIGINT,
  ts BIGINT,
  expires BIGINT,
  seller BIGINT,
  category BIGINT,
  kind STRING
) WITH ('connector' = 'filesystem', 'path' = '../data/nexmark-auctions-bids.jsonl', 'format' = 'json');

SELECT B.auction, B.bidder, B.price, B.channel, B.url, B.ts AS bid_time,
       A.item_name, A.initial_bid, A.reserve, A.ts AS auction_time, A.expires, A.seller,
       A.category
FROM bid AS B INNER JOIN auction AS A ON B.auction = A.id
WHERE B.kind = 'bid' AND A.kind = 'auction' AND A.category = 10;
