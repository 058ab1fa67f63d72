-- REDEEM: a random member spends 10 points if the balance covers it.
\set m random(1, :members)
\set b random(1, 3)
SELECT redeem(:m, :b, 10);
