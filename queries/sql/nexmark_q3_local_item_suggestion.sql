-- NEXMark Q3 (the twin of queries/nexmark_q3_local_item_suggestion.toml): who sells in
-- category 10 in Oregon, Idaho or California, a regular join of persons and auctions.
-- As nexmark-flink writes it, but for the CREATE TABLEs: both tables read the person and
-- auction lines of one file and keep their own kind (the `kind` filters), and the
-- auction's id is named `auction`.
CREATE TABLE persons (
  id BIGINT,
  name STRING,
  city STRING,
  state STRING,
  kind STRING
) WITH ('connector' = 'filesystem', 'path' = '../data/nexmark-persons-auctions.jsonl', 'format' = 'json');

CREATE TABLE auctions (
  id BIGINT,
  seller BIGINT,
  category BIGINT,
  kind STRING
) WITH ('connector' = 'filesystem', 'path' = '../data/nexmark-persons-auctions.jsonl', 'format' = 'json');

SELECT P.name, P.city, P.state, A.id AS auction
FROM persons AS P INNER JOIN auctions AS A ON P.id = A.seller
WHERE P.kind = 'person' AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
  AND A.kind = 'auction' AND A.category = 10;
