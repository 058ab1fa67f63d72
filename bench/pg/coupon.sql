-- COUPON_ISSUE: a brand gives a random member a coupon worth 500.
\set m random(1, :members)
\set b random(1, 3)
SELECT coupon_issue(:m, :b, 500);
