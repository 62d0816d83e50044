-- W1 in Spark SQL's spelling: GROUP BY window(ts, '10 seconds'), the window's bounds as
-- window.start / window.end, the watermark as a table option (Spark's SQL has no clause
-- for it; --watermark 5s on the command line does the same). The same rows as w1.sql.
CREATE TABLE clicks (
  ts TIMESTAMP(3),
  `key` STRING,
  `value` BIGINT
) WITH ('watermark.delay' = '5 seconds');

SELECT window.start, window.end, `key`, count(*) AS n, sum(`value`) AS total
FROM clicks
GROUP BY window(ts, '10 seconds'), `key`;
