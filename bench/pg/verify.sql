-- bench/pg/verify.sql - after the runs, is the chain intact? Prints
-- "rows|broken": the ledger's row count and how many checks failed (must
-- be 0): a row whose prev_hash is not the previous row's hash (or the
-- genesis hash for row 1), a row whose hash is not sha256 of its prev_hash
-- and fields, a gap in seq, or a head that is not the last row.
SELECT
  (SELECT count(*) FROM ledger),
  (SELECT count(*) FROM ledger l
     LEFT JOIN ledger p ON p.seq = l.seq - 1
     WHERE (l.seq > 1 AND (p.seq IS NULL OR l.prev_hash <> p.hash))
        OR (l.seq = 1
            AND l.prev_hash <> sha256('cairn-bench/pg-genesis'::bytea))
        OR l.hash <> sha256(l.prev_hash || int8send(l.seq)
                            || int8send(l.member) || int4send(l.brand)
                            || int8send(l.delta)))
  + (SELECT count(*) FROM ledger WHERE seq < 1
       OR seq > (SELECT count(*) FROM ledger))
  + (SELECT count(*) FROM chain_head h
       WHERE h.seq <> (SELECT coalesce(max(seq), 0) FROM ledger)
          OR (h.seq > 0
              AND h.hash <> (SELECT hash FROM ledger WHERE seq = h.seq)));
