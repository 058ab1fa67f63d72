-- ISSUE: a brand credits 100 points to a random member (pgbench -D members=N).
\set m random(1, :members)
\set b random(1, 3)
SELECT earn(:m, :b, 100);
