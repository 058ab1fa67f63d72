-- bench/pg/schema.sql - the PostgreSQL baseline's ledger (bench/pg/run.sh).
--
-- The same loyalty ledger Cairn keeps, as SQL: a balances table, and a
-- hash-chained ledger table whose rows each carry the hash of the one
-- before, with a one-row chain_head that every transaction advances. The
-- chain head is what makes this a log rather than a table: each row's hash
-- depends on the previous row's, so appends are serialised exactly as a
-- hash-chained log must be (the head row stays locked from the append
-- until the transaction's commit record is fsynced).
--
-- Each pgbench transaction is one call of earn / redeem / coupon_issue
-- (one statement, one round trip, autocommit), the cheapest way for a
-- client to drive this schema: PostgreSQL is given its best case.
--
-- psql variable: members (accounts preloaded, each with a balance of 1000
-- in each of the 3 brands).

CREATE TABLE balances (
  member bigint NOT NULL,
  brand  int    NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0)
);

CREATE TABLE ledger (
  seq       bigint PRIMARY KEY,
  member    bigint NOT NULL,
  brand     int    NOT NULL,
  delta     bigint NOT NULL,
  prev_hash bytea  NOT NULL,
  hash      bytea  NOT NULL
);

CREATE TABLE chain_head (
  seq  bigint NOT NULL,
  hash bytea  NOT NULL
);

CREATE TABLE coupons (
  id     bigint PRIMARY KEY,
  member bigint NOT NULL,
  brand  int    NOT NULL,
  value  bigint NOT NULL
);

INSERT INTO chain_head VALUES (0, sha256('cairn-bench/pg-genesis'::bytea));

INSERT INTO balances
  SELECT m, b, 1000
  FROM generate_series(1, :members) AS m, generate_series(1, 3) AS b;
ALTER TABLE balances ADD PRIMARY KEY (member, brand);

-- Append one row to the chain: lock the head, hash the previous hash with
-- the row's fields, insert the row, advance the head. Returns the new seq.
CREATE FUNCTION chain_append(m bigint, b int, d bigint) RETURNS bigint AS $$
DECLARE
  s  bigint;
  h  bytea;
  nh bytea;
BEGIN
  SELECT seq, hash INTO s, h FROM chain_head FOR UPDATE;
  nh := sha256(h || int8send(s + 1) || int8send(m) || int4send(b)
               || int8send(d));
  INSERT INTO ledger VALUES (s + 1, m, b, d, h, nh);
  UPDATE chain_head SET seq = s + 1, hash = nh;
  RETURN s + 1;
END $$ LANGUAGE plpgsql;

-- ISSUE: credit the member (creating the balance row if new) and log it.
CREATE FUNCTION earn(m bigint, b int, amt bigint) RETURNS bigint AS $$
BEGIN
  INSERT INTO balances VALUES (m, b, amt)
    ON CONFLICT (member, brand)
    DO UPDATE SET amount = balances.amount + EXCLUDED.amount;
  RETURN chain_append(m, b, amt);
END $$ LANGUAGE plpgsql;

-- REDEEM: debit only if the balance covers it; log it if it did.
CREATE FUNCTION redeem(m bigint, b int, amt bigint) RETURNS bigint AS $$
BEGIN
  UPDATE balances SET amount = amount - amt
    WHERE member = m AND brand = b AND amount >= amt;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  RETURN chain_append(m, b, -amt);
END $$ LANGUAGE plpgsql;

-- COUPON_ISSUE: a coupon row, identified by its ledger seq, and a
-- zero-delta ledger row.
CREATE FUNCTION coupon_issue(m bigint, b int, val bigint) RETURNS bigint AS $$
DECLARE
  s bigint;
BEGIN
  s := chain_append(m, b, 0);
  INSERT INTO coupons VALUES (s, m, b, val);
  RETURN s;
END $$ LANGUAGE plpgsql;

VACUUM ANALYZE;
CHECKPOINT;
