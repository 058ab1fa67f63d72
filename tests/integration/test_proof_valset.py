"""Inclusion proofs and the audit report after the validator set changed,
on one real node (issue 6's set changes meet issue 7's proofs and report).

The node's genesis is the one of test_staking.py: V1 (the node's own key,
power 10000, operated by coffee) and V2 (power 10, operated by pizza, whose
key only the test holds, so V2 never signs). Coffee bonds 50 more to V1 and
pizza unbonds all of V2's 10; once both are in force the set is {V1: 10050}.
A transaction committed after that is proved with `cairn proof`: the proof
carries the set in force at its block (GET /v1/validators/at/{height},
checked against the header), verifies offline against the block's hash,
and is refused against the genesis file with the sentence that says why
and a non-zero exit. A transaction from before the change still verifies
against genesis. `cairn audit --data` then reports the changed powers,
counting V2's missed votes only while it was in the set. A node whose set
answer does not match the block header, or that is too old to serve it,
gets no proof out of `cairn proof` (exit 3)."""
import json
import os
import subprocess
import tempfile

from harness import CAIRN, base_env, new_member
from test_proof import _Canned
from test_staking import STAKING, V1_POWER, V2_POWER, staking_chain

BOND = 50
DIFFERS = ("the block's validator set differs from genesis (the set changed "
           "at some height)")
ADVICE = ("verify against a trusted block hash from this chain, e.g. "
          "`cairn verify-proof FILE --block-hash HASH`")


def audit(*args):
    """The real wallet's audit (no --node: it reads the data dir)."""
    return subprocess.run([CAIRN, *args], env=base_env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def issue(c, addr, amount):
    """One committed coffee ISSUE: its txid and height."""
    body = c.tx("issue", "--key", c.key("coffee"), "--brand", "coffee",
                "--to", addr, "--amount", str(amount))
    return body["txid"], body["height"]


def _change_the_set(c):
    """Bond to V1, unbond all of V2; the height from which both are in
    force."""
    b = c.tx("bond", "--key", c.key("coffee"), "--validator", c.v1,
             "--amount", str(BOND))
    u = c.tx("unbond", "--key", c.key("pizza"), "--validator", c.v2,
             "--amount", str(V2_POWER))
    effective = max(b["height"], u["height"]) + STAKING["valset_delay_blocks"]
    c.advance_to(effective - 1)
    return effective


def _check_valset_endpoint(c, effective, height):
    node = c.node
    status, at = node.get(f"/v1/validators/at/{height}")
    assert status == 200, at
    assert at["height"] == height and at["epoch"] == effective, at
    assert at["set"] == [{"pubkey": c.v1, "name": at["set"][0]["name"],
                          "power": str(V1_POWER + BOND)}], at
    assert at["total_power"] == str(V1_POWER + BOND), at
    status, block = node.get(f"/v1/blocks/{height}")
    assert status == 200, block
    assert at["validators_hash"] == block["header"]["validators_hash"], block
    status, first = node.get("/v1/validators/at/1")
    assert status == 200 and first["epoch"] == 1, first
    assert sorted(int(v["power"]) for v in first["set"]) == [V2_POWER, V1_POWER]
    assert first["validators_hash"] != at["validators_hash"], first
    tip = node.height()
    status, nxt = node.get(f"/v1/validators/at/{tip + 1}")
    assert status == 200 and nxt["set"] == at["set"], nxt
    for path, want, code in ((f"/v1/validators/at/{tip + 1000}", 404,
                              "not_found"),
                             ("/v1/validators/at/0", 400, "out_of_range"),
                             ("/v1/validators/at/abc", 400,
                              "invalid_argument")):
        status, ans = node.get(path)
        assert status == want and ans["error"]["code"] == code, (path, ans)
    return block["hash"]


def _prove(c, txid, name):
    path = os.path.join(c.node.tmp, name)
    r = c.node.cairn("proof", txid, "--out", path, check=0)
    assert "written" in r.stdout and txid in r.stdout, r.stdout
    with open(path) as f:
        return path, json.load(f), r


def test_proof_and_audit_after_set_change():
    c = staking_chain()
    with c.node:
        node = c.node
        _, member = new_member(node, "member")
        before_txid, before_h = issue(c, member, 7)
        effective = _change_the_set(c)
        txid, height = issue(c, member, 100)
        assert height >= effective, (height, effective)
        vs = c.validators()
        assert vs["epoch"] == effective, vs
        block_hash = _check_valset_endpoint(c, effective, height)

        # cairn proof: the set in force at the block, and a note on stderr.
        path, proof, r = _prove(c, txid, "after.json")
        assert proof["validators"] == [
            {"pubkey": c.v1, "power": str(V1_POWER + BOND),
             "name": proof["validators"][0]["name"]}], proof
        assert "--block-hash" in r.stderr and block_hash in r.stderr, r.stderr
        r, out = node.cairn_json("proof", txid, "--out", path)
        assert r.returncode == 0 and out["genesis_set"] is False, out
        assert out["block_hash"] == block_hash and out["height"] == height, out
        before_path, before_proof, r = _prove(c, before_txid, "before.json")
        assert len(before_proof["validators"]) == 2, before_proof
        assert "note" not in r.stderr, r.stderr

        genesis = c.genesis_path
        data = os.path.join(node.home, "data")
        tip = node.height()
        assert node.stop() == 0

        # Offline: against the trusted block hash the proof holds.
        r = node.cairn("verify-proof", path, "--block-hash", block_hash,
                       check=0)
        assert r.stdout.startswith("proof OK"), r.stdout
        assert f"block {height}" in r.stdout and txid in r.stdout, r.stdout
        total = V1_POWER + BOND
        assert f"{total} of {total} stake" in r.stdout, r.stdout
        # Against the genesis alone: refused, saying why and what to do.
        r = node.cairn("verify-proof", path, "--genesis", genesis, check=1)
        assert r.stdout.startswith("proof INVALID"), r.stdout
        assert DIFFERS in r.stdout and ADVICE in r.stdout, r.stdout
        assert DIFFERS in r.stderr, r.stderr
        r, out = node.cairn_json("verify-proof", path, "--genesis", genesis)
        assert r.returncode == 1 and out["valid"] is False, out
        assert out["error"]["code"] == "bad_validators_hash", out
        assert DIFFERS in out["error"]["message"], out
        # A proof from before the change: the genesis still vouches for it.
        r = node.cairn("verify-proof", before_path, "--genesis", genesis,
                       check=0)
        assert r.stdout.startswith("proof OK"), r.stdout
        assert f"block {before_h}" in r.stdout, r.stdout

        # The audit report: powers now, and each validator's heights.
        r = audit("--json", "audit", "--data", data)
        assert r.returncode == 0, r.stdout + r.stderr
        rep = json.loads(r.stdout)
        assert rep["ok"] and rep["tip_height"] == tip, rep
        vals = {v["pubkey"]: v for v in rep["validators"]}
        assert set(vals) == {c.v1, c.v2}, vals
        v1, v2 = vals[c.v1], vals[c.v2]
        assert v1["power"] == str(V1_POWER + BOND), v1
        assert v1["bonded"] == str(V1_POWER + BOND) and not v1["jailed"], v1
        assert v1["in_set"] == [{"from": 1, "to": tip}], v1
        assert v1["votes_missed"] == 0 and v1["blocks_in_set"] == tip, v1
        assert v2["power"] == "0" and v2["bonded"] == "0", v2
        assert v2["in_set"] == [{"from": 1, "to": effective - 1}], v2
        assert v2["blocks_in_set"] == effective - 1, v2
        # V2 never signs: it missed exactly the blocks it was in the set for.
        assert v2["votes_missed"] == effective - 1, v2
        assert v2["slashing_events"] == 0, v2
        assert v1["blocks_proposed"] + v2["blocks_proposed"] == tip, vals
        r = audit("audit", "--data", data)
        assert r.returncode == 0, r.stdout + r.stderr
        line = [ln for ln in r.stdout.splitlines()
                if ln.strip().startswith(c.v1[:16])]
        assert line and str(V1_POWER + BOND) in line[0], r.stdout
        assert line[0].rstrip().endswith(f"1-{tip}"), line


def test_proof_refuses_a_set_the_header_does_not_name():
    c = staking_chain()
    with c.node:
        node = c.node
        _, member = new_member(node, "member")
        effective = _change_the_set(c)
        txid, h = issue(c, member, 5)
        assert h >= effective
        answers = {p: node.get(p) for p in (f"/v1/txs/{txid}",
                                            f"/v1/blocks/{h}", "/v1/genesis",
                                            f"/v1/validators/at/{h}",
                                            "/v1/validators/at/1")}
        assert all(status == 200 for status, _ in answers.values()), answers
    old_set = answers["/v1/validators/at/1"]
    cases = [
        # The genesis set served for a block of the new set.
        ({f"/v1/validators/at/{h}": old_set}, "hashes to", "bad_validators_hash"),
        # A node from before set changes: no such path, genesis set assumed.
        ({f"/v1/validators/at/{h}": (404, {"error": {
            "code": "not_found", "number": 5, "message": "not found"}})},
         "does not serve GET /v1/validators/at", "bad_validators_hash"),
        # A set out of key order.
        ({f"/v1/validators/at/{h}": (200, dict(old_set[1], set=list(
            reversed(old_set[1]["set"]))))}, "ascending key order", "http_error"),
    ]
    for override, needle, code in cases:
        fake = _Canned(dict(answers, **override))
        try:
            r = node.cairn("--node", fake.url, "proof", txid)
            rj = node.cairn("--node", fake.url, "--json", "proof", txid)
        finally:
            fake.close()
        assert r.returncode == 3, (needle, r.returncode, r.stderr)
        assert needle in r.stderr and r.stdout == "", (needle, r.stderr)
        assert rj.returncode == 3, rj.stderr
        assert json.loads(rj.stdout)["error"]["code"] == code, rj.stdout
    # The honest answers make a proof that holds against the block hash.
    fake = _Canned(answers)
    try:
        r = node.cairn("--node", fake.url, "proof", txid, check=0)
    finally:
        fake.close()
    proof = json.loads(r.stdout)
    assert proof["validators"][0]["power"] == str(V1_POWER + BOND), proof
    block_hash = answers[f"/v1/blocks/{h}"][1]["hash"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "canned.json")
        with open(path, "w") as f:
            json.dump(proof, f)
        r = node.cairn("verify-proof", path, "--block-hash", block_hash,
                       check=0)
    assert r.stdout.startswith("proof OK"), r.stdout
