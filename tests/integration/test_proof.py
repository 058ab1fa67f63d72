"""Inclusion proofs through the real binaries: `cairn proof` builds a proof
from a running cairnd, `cairn verify-proof` checks it with the node stopped
(offline) against the genesis file or a block hash, and rejects a tampered
proof, a wrong anchor and bad usage with the documented exit codes."""
import json
import os
import time

from harness import Node, new_member


def wait_committed(node, txid, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = node.get(f"/v1/txs/{txid}")
        if status == 200 and body["status"] == "committed":
            return body
        time.sleep(0.05)
    raise AssertionError(f"transaction {txid} not committed: {body}")


def flip_hex(s, i):
    return s[:i] + ("0" if s[i] != "0" else "1") + s[i + 1:]


def test_proof_verified_offline():
    with Node().init_demo().start() as node:
        me, addr = new_member(node, "me")
        r, body = node.cairn_json("issue", "--key", node.key("coffee"), "--brand", "coffee",
                                  "--to", addr, "--amount", "100")
        assert r.returncode == 0, r.stderr
        txid = body["txid"]
        node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount", "30",
                   "--order", "A-1001", check=0)
        loc = wait_committed(node, txid)

        path = os.path.join(node.tmp, "p.json")
        r = node.cairn("proof", txid, "--out", path, check=0)
        assert "written" in r.stdout and txid in r.stdout, r.stdout
        with open(path) as f:
            proof = json.load(f)
        assert set(proof) == {"version", "tx", "position", "tx_count", "path",
                              "header", "commit", "validators"}, proof
        assert proof["position"] == loc["position"]
        assert proof["tx"] == loc["raw"]
        # Without --out the same proof goes to stdout.
        r = node.cairn("proof", txid, check=0)
        assert json.loads(r.stdout) == proof

        status, block = node.get(f"/v1/blocks/{loc['height']}")
        assert status == 200, block
        genesis = os.path.join(node.home, "genesis.json")
        assert node.stop() == 0

        # Offline: no node is running any more.
        r = node.cairn("verify-proof", path, "--genesis", genesis, check=0)
        assert r.stdout.startswith("proof OK"), r.stdout
        assert txid in r.stdout and block["hash"] in r.stdout, r.stdout
        assert f"block {loc['height']}" in r.stdout, r.stdout
        assert "10 of 10 stake" in r.stdout, r.stdout
        assert "issue: 100 points of brand 1 (coffee)" in r.stdout, r.stdout
        assert addr in r.stdout, r.stdout
        r = node.cairn("verify-proof", path, "--block-hash", block["hash"], check=0)
        assert r.stdout.startswith("proof OK"), r.stdout
        r, out = node.cairn_json("verify-proof", path, "--genesis", genesis)
        assert r.returncode == 0 and out["valid"] is True, out
        assert out["txid"] == txid and out["height"] == loc["height"], out
        assert out["block_hash"] == block["hash"] and out["tx"]["amount"] == "100", out

        # One hex character of the transaction changed: INVALID, exit 1.
        bad = dict(proof, tx=flip_hex(proof["tx"], 80))
        bad_path = os.path.join(node.tmp, "bad.json")
        with open(bad_path, "w") as f:
            json.dump(bad, f)
        r = node.cairn("verify-proof", bad_path, "--genesis", genesis, check=1)
        assert "proof INVALID" in r.stdout and "INVALID" in r.stderr, (r.stdout, r.stderr)
        r, out = node.cairn_json("verify-proof", bad_path, "--genesis", genesis)
        assert r.returncode == 1 and out["valid"] is False, out
        assert out["error"]["code"] == "bad_proof", out
        # The commit's signature changed.
        bad = dict(proof, commit=flip_hex(proof["commit"], len(proof["commit"]) - 3))
        with open(bad_path, "w") as f:
            json.dump(bad, f)
        r = node.cairn("verify-proof", bad_path, "--block-hash", block["hash"], check=1)
        assert "INVALID" in r.stdout and "signature" in r.stdout, r.stdout
        # A wrong trusted block hash.
        r = node.cairn("verify-proof", path, "--block-hash", flip_hex(block["hash"], 0),
                       check=1)
        assert "INVALID" in r.stdout and "trusted block hash" in r.stdout, r.stdout
        # A malformed file: an unknown field.
        with open(bad_path, "w") as f:
            json.dump(dict(proof, extra=1), f)
        r = node.cairn("verify-proof", bad_path, "--genesis", genesis, check=1)
        assert "unknown field" in r.stdout, r.stdout

        # Usage: no anchor, both anchors, no file; missing files.
        node.cairn("verify-proof", path, check=2)
        node.cairn("verify-proof", path, "--genesis", genesis, "--block-hash",
                   block["hash"], check=2)
        node.cairn("verify-proof", "--genesis", genesis, check=2)
        node.cairn("verify-proof", path, "--block-hash", "xyz", check=2)
        r = node.cairn("verify-proof", os.path.join(node.tmp, "none.json"),
                       "--genesis", genesis, check=1)
        assert "none.json" in r.stderr, r.stderr
        r = node.cairn("verify-proof", path, "--genesis",
                       os.path.join(node.tmp, "none-genesis.json"), check=1)
        assert "none-genesis.json" in r.stderr, r.stderr


def test_proof_of_each_tx_in_a_shared_block():
    # A slow block interval so that three transactions share one block and
    # the proofs carry non-empty audit paths.
    with Node(block_interval_ms=1500).init_demo().start() as node:
        _, addr = new_member(node, "me")
        txids = []
        for brand in ("coffee", "pizza", "books"):
            r, body = node.cairn_json("issue", "--key", node.key(brand), "--brand", brand,
                                      "--to", addr, "--amount", "5", "--no-wait")
            assert r.returncode == 0, r.stderr
            txids.append(body["txid"])
        locs = [wait_committed(node, t) for t in txids]
        genesis = os.path.join(node.home, "genesis.json")
        paths = []
        for t in txids:
            path = os.path.join(node.tmp, f"{t[:8]}.json")
            node.cairn("proof", t, "--out", path, check=0)
            paths.append(path)
        node.stop()
        shared = 0
        for t, loc, path in zip(txids, locs, paths):
            with open(path) as f:
                proof = json.load(f)
            shared += proof["tx_count"] > 1
            if proof["tx_count"] > 1:
                assert len(proof["path"]) >= 1, proof
            r = node.cairn("verify-proof", path, "--genesis", genesis, check=0)
            assert f"position {loc['position']} of block {loc['height']}" in r.stdout, r.stdout
            # Another position in the same block does not verify.
            if proof["tx_count"] > 1:
                moved = dict(proof, position=(proof["position"] + 1) % proof["tx_count"])
                bad = path + ".moved"
                with open(bad, "w") as f:
                    json.dump(moved, f)
                r = node.cairn("verify-proof", bad, "--genesis", genesis, check=1)
                assert "INVALID" in r.stdout, r.stdout
        assert shared >= 2, "the transactions did not share a block"


def test_proof_of_unknown_or_bad_txid():
    with Node().init_demo().start() as node:
        r = node.cairn("proof", "ab" * 32, check=1)
        assert "no transaction" in r.stderr or "not found" in r.stderr, r.stderr
        r, out = node.cairn_json("proof", "ab" * 32)
        assert r.returncode == 1 and out["error"]["code"] == "not_found", out
        r = node.cairn("proof", "xyz", check=2)
        assert "TXID" in r.stderr, r.stderr
        node.cairn("proof", check=2)


class _Canned:
    """A fake node on a loopback port that serves recorded API answers, so a
    test can make it inconsistent in one place at a time."""

    def __init__(self, answers):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = answers.get(self.path, (404, {"error": {
                    "code": "not_found", "number": 5, "message": "not found"}}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_proof_catches_an_inconsistent_node():
    with Node().init_demo().start() as node:
        _, addr = new_member(node, "me")
        r, body = node.cairn_json("issue", "--key", node.key("coffee"), "--brand", "coffee",
                                  "--to", addr, "--amount", "7")
        assert r.returncode == 0, r.stderr
        txid = body["txid"]
        loc = wait_committed(node, txid)
        h = loc["height"]
        answers = {f"/v1/txs/{txid}": (200, loc),
                   f"/v1/blocks/{h}": node.get(f"/v1/blocks/{h}"),
                   "/v1/genesis": node.get("/v1/genesis")}
        node.stop()
    cases = []
    # A commit whose signature was altered.
    blk = json.loads(json.dumps(answers[f"/v1/blocks/{h}"][1]))
    blk["commit_raw"] = flip_hex(blk["commit_raw"], len(blk["commit_raw"]) - 3)
    cases.append(({f"/v1/blocks/{h}": (200, blk)}, "does not make a valid proof"))
    # A genesis document that does not hash to the genesis hash served with it.
    gen = json.loads(json.dumps(answers["/v1/genesis"][1]))
    gen["validators"][0]["power"] = 11
    cases.append(({"/v1/genesis": (200, gen)}, "genesis"))
    # A position that disagrees with the block.
    moved = dict(answers[f"/v1/txs/{txid}"][1], position=3)
    cases.append(({f"/v1/txs/{txid}": (200, moved)}, "position"))
    # A pending transaction has no proof yet (exit 1, not 3).
    pending = {"txid": txid, "status": "pending", "tx": {}, "raw": "00"}
    for override, needle in cases + [({f"/v1/txs/{txid}": (200, pending)}, "pending")]:
        fake = _Canned(dict(answers, **override))
        try:
            r = node.cairn("--node", fake.url, "proof", txid)
        finally:
            fake.close()
        want = 1 if needle == "pending" else 3
        assert r.returncode == want, (needle, r.returncode, r.stderr)
        assert needle in r.stderr, (needle, r.stderr)
        assert r.stdout == "", r.stdout
    # The honest answers give a proof.
    fake = _Canned(answers)
    try:
        r = node.cairn("--node", fake.url, "proof", txid, check=0)
        assert json.loads(r.stdout)["tx"] == loc["raw"]
    finally:
        fake.close()
