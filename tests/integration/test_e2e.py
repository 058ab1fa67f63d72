"""End to end through the real binaries: a demo chain, a member earning and
redeeming coffee points, coupons, and the rejected paths a cashier meets."""
import json
import os
import stat

from harness import Node, balance_of, new_member


def test_earn_redeem_coupon_story():
    with Node().init_demo().start() as node:
        me, addr = new_member(node, "me")
        assert stat.S_IMODE(os.stat(me).st_mode) == 0o600

        r = node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                       "--to", addr, "--amount", "100", check=0)
        assert "committed" in r.stdout, r.stdout
        node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount", "30",
                   "--order", "A-1001", check=0)

        r = node.cairn("balance", "--key", me, check=0)
        assert "coffee" in r.stdout and "70" in r.stdout, r.stdout
        r, body = node.cairn_json("balance", addr)
        assert r.returncode == 0
        assert balance_of(node, addr, "coffee") == 70

        # Overspend: rejected with a clear message, nothing changes.
        h = node.height()
        r = node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount", "71", check=1)
        assert "insufficient balance" in r.stderr, r.stderr
        assert "70" in r.stderr, r.stderr  # says what the member has
        assert balance_of(node, addr, "coffee") == 70

        # Coupon: issued, redeemed once, second redemption rejected.
        r, body = node.cairn_json("coupon", "issue", "--key", node.key("coffee"),
                                  "--brand", "coffee", "--to", addr, "--percent", "10",
                                  "--label", "10% off")
        assert r.returncode == 0, r.stderr
        coupon = body.get("coupon") or body.get("coupon_id") or body.get("txid")
        assert coupon and len(coupon) == 64, body
        r = node.cairn("coupon", "list", "--key", me, check=0)
        assert coupon[:16] in r.stdout and "active" in r.stdout, r.stdout
        node.cairn("coupon", "redeem", "--key", me, "--coupon", coupon,
                   "--brand", "coffee", "--order", "A-1002", check=0)
        r = node.cairn("coupon", "redeem", "--key", me, "--coupon", coupon,
                       "--brand", "coffee", check=1)
        assert "already redeemed" in r.stderr, r.stderr
        status, c = node.get(f"/v1/coupons/{coupon}")
        assert status == 200 and c["status"] == "redeemed", c
        assert node.height() > h


def test_rejections_through_the_wallet():
    with Node().init_demo().start() as node:
        me, addr = new_member(node, "me")
        other, other_addr = new_member(node, "other")
        node.cairn("issue", "--key", node.key("books"), "--brand", "books",
                   "--to", addr, "--amount", "50", check=0)
        # A member cannot issue a brand's points.
        r = node.cairn("issue", "--key", me, "--brand", "coffee", "--to", other_addr,
                       "--amount", "5", check=1)
        assert "issuer" in r.stderr, r.stderr
        # books points are not transferable.
        r = node.cairn("transfer", "--key", me, "--brand", "books", "--to", other_addr,
                       "--amount", "5", check=1)
        assert "not transferable" in r.stderr, r.stderr
        # Unknown brand.
        r = node.cairn("redeem", "--key", me, "--brand", "tea", "--amount", "1")
        assert r.returncode != 0 and "tea" in r.stderr, r.stderr
        # A typo in an address is caught by the checksum.
        typo = other_addr[:-1] + ("q" if other_addr[-1] != "q" else "p")
        r = node.cairn("transfer", "--key", me, "--brand", "coffee", "--to", typo,
                       "--amount", "1", check=2)
        assert "checksum" in r.stderr, r.stderr
        # Bad amounts are usage errors.
        for bad in ("-5", "1.5", "abc", "0"):
            r = node.cairn("redeem", "--key", me, "--brand", "books", "--amount", bad)
            assert r.returncode != 0 and r.stderr.strip(), (bad, r.stderr)
        # Wrong passphrase, missing key file.
        r = node.cairn("redeem", "--key", me, "--brand", "books", "--amount", "1",
                       env_extra={"CAIRN_PASSPHRASE": "wrong"}, check=4)
        assert "passphrase" in r.stderr, r.stderr
        r = node.cairn("redeem", "--key", "/nonexistent/x.key", "--brand", "books",
                       "--amount", "1", check=4)
        assert "x.key" in r.stderr, r.stderr
        # keygen refuses to overwrite.
        r = node.cairn("keygen", "--out", me, check=4)
        assert "exists" in r.stderr, r.stderr
        # Unknown command is a usage error.
        node.cairn("frobnicate", check=2)
        assert balance_of(node, addr, "books") == 50
        assert balance_of(node, other_addr, "coffee") == 0


def test_wallet_without_node():
    with Node().init_demo() as node:  # never started
        r = node.cairn("status", check=3)
        assert "cairnd" in r.stderr or "reach" in r.stderr, r.stderr


def test_api_rejects_bad_requests():
    with Node().init_demo().start() as node:
        status, body = node.request("POST", "/v1/txs", raw=b"{not json")
        assert status == 400 and body["error"]["code"] == "bad_json", body
        status, body = node.request("POST", "/v1/txs", body={"tx": "zz"})
        assert status == 400 and body["error"]["code"] == "bad_hex", body
        status, body = node.request("POST", "/v1/txs", body={"nottx": "00"})
        assert status == 400, body
        status, body = node.request("POST", "/v1/txs", body={"tx": "0102"})
        assert status == 400 and body["error"]["code"] in ("truncated", "bad_type"), body
        status, body = node.request("POST", "/v1/txs", raw=b"x" * 100000)
        assert status == 413, body
        status, body = node.get("/v1/nothing-here")
        assert status == 404 and "error" in body, body
        status, body = node.request("DELETE", "/v1/status")
        assert status == 405 and "error" in body, body
        status, body = node.get("/v1/blocks/999999")
        assert status == 404, body
        status, body = node.get("/v1/txs/" + "00" * 32)
        assert status == 404, body
        status, body = node.get("/v1/accounts/cairn1notanaddress")
        assert status == 400 and body["error"]["code"] in ("bad_address", "bad_checksum"), body
        assert node.get("/v1/status")[0] == 200


def test_replayed_transaction_rejected():
    with Node().init_demo().start() as node:
        _, addr = new_member(node, "me")
        r, body = node.cairn_json("issue", "--key", node.key("coffee"), "--brand", "coffee",
                                  "--to", addr, "--amount", "10")
        assert r.returncode == 0, r.stderr
        status, tx = node.get(f"/v1/txs/{body['txid']}")
        assert status == 200 and tx["status"] == "committed", tx
        # The exact same signed bytes again: duplicate, state unchanged.
        status, err = node.request("POST", "/v1/txs", body={"tx": tx["raw"]})
        assert status == 409 and err["error"]["code"] in ("duplicate_tx", "sequence_replay"), err
        assert balance_of(node, addr, "coffee") == 10


def test_restart_resumes_from_tip():
    with Node().init_demo().start() as node:
        _, addr = new_member(node, "me")
        node.cairn("issue", "--key", node.key("pizza"), "--brand", "pizza",
                   "--to", addr, "--amount", "42", check=0)
        h = node.height()
        _, tip = node.get("/v1/blocks/latest")
        assert node.stop() == 0
        assert "shutting down" in node.log().lower() or "shutdown" in node.log().lower()
        node.start()
        assert node.height() == h
        _, tip2 = node.get("/v1/blocks/latest")
        assert tip2["hash"] == tip["hash"]
        assert balance_of(node, addr, "pizza") == 42
        r = node.cairn("status", check=0)
        assert str(h) in r.stdout
