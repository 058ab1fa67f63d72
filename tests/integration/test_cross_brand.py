"""Cross-brand economics through the real binaries: safe retries with client
references and the brands' point accounting (issue 3)."""
from harness import Node, balance_of, new_member


def test_retry_with_client_ref_applies_once():
    with Node().init_demo().start() as node:
        _, addr = new_member(node, "me")
        args = ("issue", "--key", node.key("coffee"), "--brand", "coffee",
                "--to", addr, "--amount", "10", "--ref", "till-4/r-88")
        r = node.cairn(*args, check=0)
        assert "committed" in r.stdout, r.stdout
        # The till lost the answer and retries: refused, nothing issued twice.
        r = node.cairn(*args, check=1)
        assert "duplicate client reference" in r.stderr, r.stderr
        assert balance_of(node, addr, "coffee") == 10
        # A fresh reference goes through.
        node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                   "--to", addr, "--amount", "5", "--ref", "till-4/r-89", check=0)
        assert balance_of(node, addr, "coffee") == 15
        status, st = node.get("/v1/brands/1/stats")
        assert status == 200, st
        assert st["name"] == "coffee" and st["issued"] == "15", st
        assert st["outstanding"] == "15", st
        status, body = node.get("/v1/brands/99/stats")
        assert status == 404, body


def test_policy_limits_issue():
    with Node().init_demo().start() as node:
        _, addr = new_member(node, "me")
        status, body = node.get("/v1/brands")
        coffee = [b for b in body["brands"] if b["name"] == "coffee"][0]
        assert coffee["policy"]["expiry"] == "none", coffee
        assert coffee["policy"]["accept_by_partners"] is True, coffee
        # Only the issuer may change the policy.
        other, _ = new_member(node, "other")
        r = node.cairn("policy", "--key", other, "--brand", "coffee",
                       "--max-per-tx", "50", check=1)
        assert "issuer" in r.stderr, r.stderr
        node.cairn("policy", "--key", node.key("coffee"), "--brand", "coffee",
                   "--max-per-tx", "50", "--expiry", "rolling",
                   "--expiry-blocks", "1000", check=0)
        status, body = node.get("/v1/brands")
        coffee = [b for b in body["brands"] if b["name"] == "coffee"][0]
        pol = coffee["policy"]
        assert pol["max_issue_per_tx"] == "50" and pol["expiry"] == "rolling", pol
        assert pol["expiry_blocks"] == 1000 and coffee["transferable"] is True, coffee
        r = node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                       "--to", addr, "--amount", "51", check=1)
        assert "maximum issue per transaction" in r.stderr, r.stderr
        node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                   "--to", addr, "--amount", "50", check=0)
        assert balance_of(node, addr, "coffee") == 50


def test_hold_capture_release():
    with Node().init_demo().start() as node:
        me, addr = new_member(node, "me")
        node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                   "--to", addr, "--amount", "100", check=0)
        r, body = node.cairn_json("hold", "--key", me, "--brand", "coffee",
                                  "--amount", "40", "--order", "A-7",
                                  "--timeout-in", "500")
        assert r.returncode == 0, r.stderr
        hold = body["hold"]
        assert len(hold) == 64, body
        assert balance_of(node, addr, "coffee") == 60
        status, h = node.get(f"/v1/holds/{hold}")
        assert status == 200 and h["amount"] == "40", h
        # Held points cannot be spent elsewhere.
        r = node.cairn("redeem", "--key", me, "--brand", "coffee",
                       "--amount", "61", check=1)
        assert "insufficient" in r.stderr, r.stderr
        # The member cannot take them back before the timeout.
        r = node.cairn("release", "--key", me, "--hold", hold, check=1)
        assert "has not timed out" in r.stderr, r.stderr
        node.cairn("capture", "--key", node.key("coffee"), "--hold", hold,
                   "--amount", "35", check=0)
        assert balance_of(node, addr, "coffee") == 65
        status, h = node.get(f"/v1/holds/{hold}")
        assert status == 404, h
        status, st = node.get("/v1/brands/1/stats")
        assert st["redeemed_home"] == "35" and st["held"] == "0", st
        # A second hold, released by the brand.
        r, body = node.cairn_json("hold", "--key", me, "--brand", "coffee",
                                  "--amount", "5")
        node.cairn("release", "--key", node.key("coffee"), "--hold",
                   body["hold"], check=0)
        assert balance_of(node, addr, "coffee") == 65


def test_hold_times_out():
    with Node(block_interval_ms=50).init_demo().start() as node:
        me, addr = new_member(node, "me")
        node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                   "--to", addr, "--amount", "10", check=0)
        r, body = node.cairn_json("hold", "--key", me, "--brand", "coffee",
                                  "--amount", "10", "--timeout-in", "0")
        assert r.returncode == 0, r.stderr
        assert balance_of(node, addr, "coffee") == 0
        # Any later block releases it; blocks come with transactions.
        other, other_addr = new_member(node, "other")
        for _ in range(3):
            node.cairn("issue", "--key", node.key("pizza"), "--brand", "pizza",
                       "--to", other_addr, "--amount", "1", check=0)
        assert balance_of(node, addr, "coffee") == 10
        status, _ = node.get(f"/v1/holds/{body['hold']}")
        assert status == 404


def test_reverse_a_returned_purchase():
    with Node().init_demo().start() as node:
        me, addr = new_member(node, "me")
        r, body = node.cairn_json("issue", "--key", node.key("coffee"),
                                  "--brand", "coffee", "--to", addr,
                                  "--amount", "100")
        assert r.returncode == 0, r.stderr
        issue = body["txid"]
        node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount", "70",
                   check=0)
        r = node.cairn("reverse", "--key", node.key("coffee"), "--issue", issue,
                       "--amount", "101", check=1)
        assert "exceeds" in r.stderr, r.stderr
        # Only the 30 points left are taken; the balance never goes negative.
        node.cairn("reverse", "--key", node.key("coffee"), "--issue", issue,
                   "--amount", "50", "--order", "RET-1", check=0)
        assert balance_of(node, addr, "coffee") == 0
        status, st = node.get("/v1/brands/1/stats")
        assert st["reversed"] == "30" and st["outstanding"] == "0", st


def test_cross_brand_story():
    """Earn at the coffee chain, redeem at the bookshop under an agreement
    both issuers signed, see that coffee owes books, settle, cleared."""
    with Node().init_demo().start() as node:
        me, addr = new_member(node, "me")
        node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                   "--to", addr, "--amount", "250", check=0)
        r, body = node.cairn_json("agree", "--key", node.key("coffee"),
                                  "--from", "coffee", "--to", "books",
                                  "--rate", "80:100")
        assert r.returncode == 0, r.stderr
        agreement = body["agreement"]
        assert len(agreement) == 64, body
        # Only coffee signed: not active yet.
        r = node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount",
                       "100", "--at", "books", "--agreement", agreement, check=1)
        assert "not active" in r.stderr, r.stderr
        r = node.cairn("agree", "--key", node.key("books"), "--from", "coffee",
                       "--to", "books", "--rate", "80:100", check=0)
        assert agreement in r.stdout, r.stdout
        r = node.cairn("agreements", check=0)
        assert agreement in r.stdout and "active" in r.stdout, r.stdout
        node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount", "100",
                   "--at", "books", "--agreement", agreement, "--order", "B-55",
                   check=0)
        assert balance_of(node, addr, "coffee") == 150
        r = node.cairn("settlements", check=0)
        assert "coffee" in r.stdout and "owes" in r.stdout and "books" in r.stdout, r.stdout
        assert "80" in r.stdout, r.stdout
        r, body = node.cairn_json("settlements")
        assert body["settlements"] == [{"debtor": 1, "debtor_name": "coffee",
                                        "creditor": 3, "creditor_name": "books",
                                        "amount": "80"}], body
        status, st = node.get("/v1/brands/1/stats")
        assert st["redeemed_partner"] == "100" and st["outstanding"] == "150", st
        # Only the creditor settles, and never more than is owed.
        r = node.cairn("settle", "--key", node.key("coffee"), "--debtor", "coffee",
                       "--creditor", "books", "--amount", "80", check=1)
        assert "issuer" in r.stderr, r.stderr
        r = node.cairn("settle", "--key", node.key("books"), "--debtor", "coffee",
                       "--creditor", "books", "--amount", "81", check=1)
        assert "exceeds" in r.stderr, r.stderr
        node.cairn("settle", "--key", node.key("books"), "--debtor", "coffee",
                   "--creditor", "books", "--amount", "80", check=0)
        r = node.cairn("settlements", check=0)
        assert "no open settlements" in r.stdout, r.stdout
        # Revoked: no more redemptions under it.
        node.cairn("revoke", "--key", node.key("books"), "--agreement", agreement,
                   check=0)
        r = node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount",
                       "100", "--at", "books", "--agreement", agreement, check=1)
        assert "not active" in r.stderr, r.stderr


def test_points_expire():
    with Node(block_interval_ms=50).init_demo().start() as node:
        _, addr = new_member(node, "me")
        _, other = new_member(node, "other")
        node.cairn("policy", "--key", node.key("coffee"), "--brand", "coffee",
                   "--expiry", "fixed", "--expiry-blocks", "2", check=0)
        node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                   "--to", addr, "--amount", "10", check=0)
        assert balance_of(node, addr, "coffee") == 10
        issued_at = node.height()
        # Blocks come with transactions: a few pizza issues move the chain on.
        while node.height() <= issued_at + 3:
            node.cairn("issue", "--key", node.key("pizza"), "--brand", "pizza",
                       "--to", other, "--amount", "1", check=0)
        assert balance_of(node, addr, "coffee") == 0
        status, st = node.get("/v1/brands/1/stats")
        assert st["expired"] == "10" and st["outstanding"] == "0", st
