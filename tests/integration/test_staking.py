"""Stake, validator-set changes and slashing through the real binaries
(issue 6, items 4 and 5): free stake and stake transfers, bonding and
unbonding with the announced height and the unbonding period, admission of
a new validator by approval of more than 2/3 of the power, duplicate-vote
evidence posted to a node and submitted as a transaction, and every
rejection with its stable code and a non-zero exit.

One node runs the chain. Its genesis (written by `cairnd init --demo`) is
extended before the first start: the node's validator V1 gets power 10000
and the coffee issuer as operator; a second validator V2, whose Ed25519 key
only this test holds, gets power 10 and the pizza issuer as operator (so a
validator in force can approve without deciding, and can be caught
equivocating); coffee, pizza and alice get free stake. V1 alone holds more
than 2/3 of the power, so the chain commits with V1's votes alone."""
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness import Node, new_member

STAKING = {"valset_delay_blocks": 2, "unbonding_blocks": 4,
           "evidence_max_age_blocks": 50, "slash_percent": 10}
V1_POWER = 10000
V2_POWER = 10
FREE = {"coffee": 500, "pizza": 200, "alice": 300}

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def address_bytes(addr):
    """The 32 key bytes of a cairn1... address (bech32m; checksum not
    checked here: the node checks every address it is given)."""
    data = [BECH32.index(c) for c in addr[addr.rindex("1") + 1:-6]]
    acc, bits, out = 0, 0, bytearray()
    for d in data:
        acc = (acc << 5) | d
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    assert len(out) == 32, addr
    return bytes(out)


def ed25519_key():
    sk = Ed25519PrivateKey.generate()
    pk = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return sk, pk


def tagged_hash(tag, msg):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def vote(sk, pk, chain_id, vtype, height, rnd, block_hash):
    """A signed vote in its wire form (specs/encoding.md section 6)."""
    cid = chain_id.encode()
    fields = struct.pack(">BQI", vtype, height, rnd) + block_hash
    sig = sk.sign(tagged_hash("cairn/vote", bytes([len(cid)]) + cid + fields))
    return fields + pk + sig


def evidence(sk, pk, chain_id, height, rnd=0, vtype=1, h1=b"\x11" * 32,
             h2=b"\x22" * 32, height_b=None):
    """Duplicate-vote evidence hex: version 1, lower block hash first."""
    a = vote(sk, pk, chain_id, vtype, height, rnd, min(h1, h2))
    b = vote(sk, pk, chain_id, vtype, height if height_b is None else height_b,
             rnd, max(h1, h2))
    return (b"\x01" + a + b).hex()


class Chain:
    """A started node with the staking genesis, and its actors."""

    def __init__(self, node):
        self.node = node
        self.v2_sk, self.v2_pk = ed25519_key()
        home = node.home
        self.genesis_path = os.path.join(home, "genesis.json")
        with open(self.genesis_path) as f:
            g = json.load(f)
        self.chain_id = g["chain_id"]
        issuers = {b["name"]: b["issuer"] for b in g["brands"]}
        self.addr = {"coffee": issuers["coffee"], "pizza": issuers["pizza"]}
        self.addr["alice"] = node.cairn("address", "--key", node.key("alice"),
                                        check=0).stdout.strip().split()[-1]
        assert len(g["validators"]) == 1, g["validators"]
        v1 = g["validators"][0]
        self.v1 = v1["pubkey"]
        self.v2 = self.v2_pk.hex()
        v1["power"] = V1_POWER
        v1["operator"] = self.addr["coffee"]
        g["validators"].append({"name": "pizza-val", "pubkey": self.v2,
                                "power": V2_POWER,
                                "operator": self.addr["pizza"]})
        stake = [{"account": self.addr[n], "amount": str(a)}
                 for n, a in FREE.items()]
        g["stake"] = sorted(stake, key=lambda s: address_bytes(s["account"]))
        g["staking"] = dict(STAKING)
        with open(self.genesis_path, "w") as f:
            json.dump(g, f, indent=2)
        node.start()
        self.filler, self.filler_addr = new_member(node, "filler")

    def key(self, name):
        return self.node.key(name)

    def advance_to(self, height):
        """Commit blocks (one coffee ISSUE each) until the tip is height."""
        while self.node.height() < height:
            self.node.cairn("issue", "--key", self.key("coffee"), "--brand",
                            "coffee", "--to", self.filler_addr, "--amount", "1",
                            check=0)

    def free(self, who):
        addr = self.addr.get(who, who)
        status, body = self.node.get(f"/v1/stake/{addr}")
        assert status == 200, body
        return int(body["free"])

    def validators(self):
        r, body = self.node.cairn_json("validators")
        assert r.returncode == 0, r.stderr
        return body

    def record(self, pubkey):
        for rec in self.validators()["validators"]:
            if rec["pubkey"] == pubkey:
                return rec
        raise AssertionError(f"no validator record {pubkey}")

    def tx(self, *args):
        """Run a transaction command that must commit; its txid and height."""
        r, body = self.node.cairn_json(*args)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        assert body["status"] == "committed", body
        return body

    def rejected(self, code, *args, exit_code=1):
        """Run a command that must fail with this stable code (in its
        --json error object, and for refusals by the node in the sentence
        on stderr too) and exit code; nothing may have been submitted."""
        seq = self.next_sequence()
        r = self.node.cairn("--json", *args)
        assert r.returncode == exit_code, (
            f"{args}: exit {r.returncode}, expected {exit_code}\n{r.stderr}")
        assert r.stderr.startswith("cairn: error: "), r.stderr
        err = json.loads(r.stdout)["error"]
        assert err["code"] == code, f"{args}: {err} is not {code}"
        if exit_code == 1:
            assert f"({code})" in r.stderr, f"{args}: {code} not in {r.stderr!r}"
        assert self.next_sequence() == seq, "a refused command changed a sequence"
        return r

    def next_sequence(self):
        """Next sequence of every actor: nothing pending or committed may
        change across a rejection."""
        out = []
        for name in ("coffee", "pizza", "alice"):
            status, body = self.node.get(f"/v1/accounts/{self.addr[name]}")
            assert status == 200, body
            out.append(body["next_sequence"])
        return out


def staking_chain():
    node = Node().init_demo()
    try:
        return Chain(node)
    except BaseException:
        node.cleanup()
        raise


def _genesis_and_transfer(c):
    """The genesis set and stake as the API and CLI show them, and STAKE
    TRANSFER with an overspend refused."""
    node = c.node
    vs = c.validators()
    assert vs["epoch"] == 1 and vs["total_power"] == str(V1_POWER + V2_POWER), vs
    assert sorted(int(v["power"]) for v in vs["set"]) == [V2_POWER, V1_POWER], vs
    assert [v["pubkey"] for v in vs["set"]] == sorted([c.v1, c.v2]), vs
    rec1 = c.record(c.v1)
    assert rec1["operator"] == c.addr["coffee"] and rec1["bonded"] == str(V1_POWER), rec1
    assert rec1["in_set"] and not rec1["jailed"], rec1
    assert vs["staking"]["unbonding_blocks"] == 4, vs
    assert vs["stake"]["free"] == str(sum(FREE.values())), vs
    assert vs["stake"]["bonded"] == str(V1_POWER + V2_POWER), vs
    r = node.cairn("validators", check=0)
    assert c.v1 in r.stdout and c.v2 in r.stdout and "in set" in r.stdout, r.stdout
    # Free stake, by address and by key file.
    assert c.free("coffee") == 500 and c.free("alice") == 300
    r = node.cairn("stake", "balance", "--key", c.key("coffee"), check=0)
    assert "free stake 500" in r.stdout and c.v1 in r.stdout, r.stdout
    _, member = new_member(node, "member")
    assert c.free(member) == 0
    # Stake transfer, and an overspend refused with nothing changed.
    c.tx("stake", "transfer", "--key", c.key("coffee"), "--to", member,
         "--amount", "100")
    assert c.free("coffee") == 400 and c.free(member) == 100
    c.rejected("stake_insufficient", "stake", "transfer", "--key",
               c.key("coffee"), "--to", member, "--amount", "401")
    assert c.free("coffee") == 400 and c.free(member) == 100


def test_stake_bond_unbond():
    c = staking_chain()
    with c.node:
        _genesis_and_transfer(c)
        # BOND: free stake moves into the bond now; power at h + delay.
        body = c.tx("bond", "--key", c.key("coffee"), "--validator", c.v1,
                    "--amount", "50")
        h = body["height"]
        assert body["tx"]["type"] == "bond" and body["tx"]["amount"] == "50", body
        assert body["tx"]["validator"] == c.v1, body
        assert c.free("coffee") == 350
        rec = c.record(c.v1)
        assert rec["bonded"] == str(V1_POWER + 50), rec
        vs = c.validators()
        if vs["height"] < h + 1:
            assert rec["power"] == str(V1_POWER), rec
            assert {"effective_height": h + 2, "pubkey": c.v1,
                    "power": str(V1_POWER + 50)} in vs["changes"], vs
        c.advance_to(h + 1)
        vs = c.validators()
        assert vs["epoch"] == h + 2, vs
        assert vs["total_power"] == str(V1_POWER + 50 + V2_POWER), vs
        assert c.record(c.v1)["power"] == str(V1_POWER + 50)
        # Rejections: each with its code, exit 1, nothing submitted.
        c.rejected("not_operator", "bond", "--key", c.key("alice"),
                   "--validator", c.v1, "--amount", "1")
        c.rejected("not_operator", "unbond", "--key", c.key("coffee"),
                   "--validator", c.v2, "--amount", "1")
        c.rejected("validator_unknown", "bond", "--key", c.key("coffee"),
                   "--validator", ed25519_key()[1].hex(), "--amount", "1")
        c.rejected("stake_insufficient", "bond", "--key", c.key("coffee"),
                   "--validator", c.v1, "--amount", "351")
        c.rejected("unbond_exceeds", "unbond", "--key", c.key("coffee"),
                   "--validator", c.v1, "--amount", str(V1_POWER + 51))
        assert c.free("coffee") == 350
        assert c.record(c.v1)["bonded"] == str(V1_POWER + 50)
        # UNBOND: out of the bond now, free after the unbonding period.
        body = c.tx("unbond", "--key", c.key("coffee"), "--validator", c.v1,
                    "--amount", "30")
        u = body["height"]
        assert c.record(c.v1)["bonded"] == str(V1_POWER + 20)
        vs = c.validators()
        if vs["height"] < u + STAKING["unbonding_blocks"]:
            assert vs["stake"]["unbonding"] == "30", vs
            assert c.free("coffee") == 350
        c.advance_to(u + STAKING["unbonding_blocks"])
        assert c.free("coffee") == 380
        vs = c.validators()
        assert vs["stake"]["unbonding"] == "0", vs
        assert vs["total_power"] == str(V1_POWER + 20 + V2_POWER), vs
        total = sum(int(vs["stake"][k]) for k in
                    ("free", "bonded", "unbonding", "locked", "slashed"))
        assert total == int(vs["stake"]["genesis"]), vs


def test_admission_by_approval():
    c = staking_chain()
    with c.node:
        node = c.node
        _, x_pk = ed25519_key()
        x = x_pk.hex()
        r, body = node.cairn_json("admit", "--key", c.key("alice"),
                                  "--validator", x, "--name", "newbrand",
                                  "--amount", "100")
        assert r.returncode == 0, r.stderr
        proposal = body["proposal"]
        assert proposal == body["txid"] and body["status"] == "committed", body
        assert body["tx"]["type"] == "admit" and body["tx"]["name"] == "newbrand"
        assert c.free("alice") == 200  # locked until decided
        status, a = node.get(f"/v1/admissions/{proposal}")
        assert status == 200, a
        total = V1_POWER + V2_POWER
        assert a["status"] == "open" and a["approvals"] == 0, a
        assert a["validator"] == x and a["operator"] == c.addr["alice"], a
        assert a["power_needed"] == str(2 * total // 3 + 1), a
        # Default deadline: the tip when the command ran, plus 100.
        assert body["height"] < a["deadline_height"] <= body["height"] + 99, a
        r = node.cairn("admission", proposal, check=0)
        assert "open" in r.stdout and "newbrand" in r.stdout, r.stdout
        # Rejections.
        c.rejected("not_operator", "approve", "--key", c.key("alice"),
                   "--proposal", proposal)
        c.rejected("proposal_unknown", "approve", "--key", c.key("coffee"),
                   "--proposal", "ab" * 32)
        c.rejected("validator_exists", "admit", "--key", c.key("alice"),
                   "--validator", x, "--name", "again", "--amount", "1")
        c.rejected("validator_exists", "admit", "--key", c.key("pizza"),
                   "--validator", c.v1, "--name", "dup", "--amount", "1")
        c.rejected("stake_insufficient", "admit", "--key", c.key("alice"),
                   "--validator", ed25519_key()[1].hex(), "--name", "big",
                   "--amount", "201")
        # V2 (power 10) approves: counted, not enough.
        c.tx("approve", "--key", c.key("pizza"), "--proposal", proposal)
        status, a = node.get(f"/v1/admissions/{proposal}")
        assert a["status"] == "open" and a["approvals"] == 1, a
        assert a["approved_power"] == str(V2_POWER), a
        c.rejected("already_approved", "approve", "--key", c.key("pizza"),
                   "--proposal", proposal)
        # V1 approves: more than 2/3, admitted; power at the announced height.
        body = c.tx("approve", "--key", c.key("coffee"), "--proposal", proposal)
        h = body["height"]
        assert body["tx"]["type"] == "approve" and body["tx"]["proposal"] == proposal
        status, a = node.get(f"/v1/admissions/{proposal}")
        assert a["status"] == "admitted" and a["decided_height"] == h, a
        c.rejected("proposal_closed", "approve", "--key", c.key("coffee"),
                   "--proposal", proposal)
        rec = c.record(x)
        assert rec["name"] == "newbrand" and rec["bonded"] == "100", rec
        assert rec["operator"] == c.addr["alice"], rec
        vs = c.validators()
        if vs["height"] < h + 1:
            assert rec["power"] == "0" and not rec["in_set"], rec
            assert {"effective_height": h + 2, "pubkey": x,
                    "power": "100"} in vs["changes"], vs
            r = node.cairn("validators", check=0)
            assert f"from height {h + 2}: {x} (newbrand) power 100" in r.stdout, r.stdout
        assert c.free("alice") == 200  # the bond stays bonded
        # The set changes at the announced height (V1 alone still commits).
        c.advance_to(h + 1)
        vs = c.validators()
        assert vs["epoch"] == h + 2, vs
        assert any(v["pubkey"] == x and v["power"] == "100" for v in vs["set"]), vs
        assert vs["changes"] == [], vs


def test_evidence_slashes_and_jails():
    c = staking_chain()
    with c.node:
        node = c.node
        c.advance_to(2)
        tip = node.height()
        # Bad input, refused locally (exit 2) or by the node (400/422).
        c.rejected("bad_hex", "evidence", "submit", "--key", c.key("alice"),
                   "--evidence", "zz", exit_code=2)
        c.rejected("truncated", "evidence", "submit", "--key", c.key("alice"),
                   "--evidence", "01" * 10, exit_code=2)
        c.rejected("usage", "evidence", "submit", "--key", c.key("alice"),
                   exit_code=2)
        for body, code in (({"evidence": "zz"}, "bad_hex"),
                           ({"evidence": "01" * 10}, "truncated"),
                           ({"tx": "00"}, "bad_json")):
            status, ans = node.request("POST", "/v1/evidence", body)
            assert status == 400 and ans["error"]["code"] == code, (body, ans)
        stranger_sk, stranger_pk = ed25519_key()
        cases = [
            (evidence(stranger_sk, stranger_pk, c.chain_id, tip), "not_validator"),
            (evidence(c.v2_sk, c.v2_pk, c.chain_id, tip, height_b=tip - 1),
             "evidence_mismatch"),
            (evidence(c.v2_sk, c.v2_pk, "other-chain", tip), "bad_signature"),
            (evidence(c.v2_sk, c.v2_pk, c.chain_id, tip + 5), "evidence_stale"),
        ]
        for hexev, code in cases:
            status, ans = node.request("POST", "/v1/evidence", {"evidence": hexev})
            assert status == 422 and ans["error"]["code"] == code, (code, ans)
        # As a transaction, evidence that does not verify is refused too.
        c.rejected("validator_unknown", "evidence", "submit", "--key",
                   c.key("alice"), "--evidence", cases[0][0])
        c.rejected("bad_signature", "evidence", "submit", "--key",
                   c.key("alice"), "--evidence", cases[2][0])
        c.rejected("evidence_stale", "evidence", "submit", "--key",
                   c.key("alice"), "--evidence", cases[3][0])
        status, body = node.get("/v1/evidence")
        assert status == 200 and body["evidence"] == [], body
        r = node.cairn("evidence", "submit", "--key", c.key("alice"),
                       "--from-node", check=0)
        assert "nothing to submit" in r.stdout, r.stdout
        # Good evidence: V2 prevoted two blocks at (tip, 0).
        good = evidence(c.v2_sk, c.v2_pk, c.chain_id, tip)
        status, ans = node.request("POST", "/v1/evidence", {"evidence": good})
        assert status == 202 and ans["status"] == "added", ans
        assert ans["validator"] == c.v2 and ans["height"] == tip, ans
        status, ans = node.request("POST", "/v1/evidence", {"evidence": good})
        assert status == 200 and ans["status"] == "known", ans
        status, body = node.get("/v1/evidence")
        assert [e["evidence"] for e in body["evidence"]] == [good], body
        e = body["evidence"][0]
        assert e["type"] == "prevote" and e["round"] == 0, e
        assert e["block_hash_a"] == "11" * 32 and e["block_hash_b"] == "22" * 32, e
        r = node.cairn("evidence", "list", check=0)
        assert c.v2 in r.stdout and good in r.stdout, r.stdout
        # Anyone submits it: V2 loses 10% of its bond and is jailed.
        r, out = node.cairn_json("evidence", "submit", "--key", c.key("alice"),
                                 "--from-node")
        assert r.returncode == 0, r.stderr
        assert len(out["submitted"]) == 1, out
        sub = out["submitted"][0]
        assert sub["status"] == "committed" and sub["validator"] == c.v2, sub
        assert sub["tx"]["type"] == "evidence", sub
        assert sub["tx"]["offence"]["validator"] == c.v2, sub
        rec = c.record(c.v2)
        assert rec["jailed"], rec
        assert rec["bonded"] == str(V2_POWER - V2_POWER * 10 // 100), rec
        vs = c.validators()
        if vs["height"] < sub["height"] + 1:
            # Out of the set only at the announced height.
            assert rec["in_set"] and rec["power"] == str(V2_POWER), rec
            assert {"effective_height": sub["height"] + 2, "pubkey": c.v2,
                    "power": "0"} in vs["changes"], vs
        vs = c.validators()
        assert vs["stake"]["slashed"] == "1", vs
        r = node.cairn("validators", check=0)
        assert "jailed" in r.stdout, r.stdout
        # Used up: the pool drops it, and it cannot be used again.
        status, body = node.get("/v1/evidence")
        assert body["evidence"] == [], body
        status, ans = node.request("POST", "/v1/evidence", {"evidence": good})
        assert status == 422 and ans["error"]["code"] == "validator_jailed", ans
        c.rejected("validator_jailed", "evidence", "submit", "--key",
                   c.key("alice"), "--evidence", good)
        c.rejected("validator_jailed", "bond", "--key", c.key("pizza"),
                   "--validator", c.v2, "--amount", "1")
        # The jailed validator leaves the set at the announced height.
        c.advance_to(sub["height"] + 1)
        vs = c.validators()
        assert [v["pubkey"] for v in vs["set"]] == [c.v1], vs
        rec = c.record(c.v2)
        assert rec["jailed"] and not rec["in_set"] and rec["power"] == "0", rec


def test_bad_arguments_submit_nothing():
    c = staking_chain()
    with c.node:
        coffee = c.key("coffee")
        cases = [
            ("usage", ["bond", "--key", coffee, "--validator", c.v1,
                       "--amount", "0"]),
            ("usage", ["bond", "--key", coffee, "--validator", c.v1,
                       "--amount", "-5"]),
            ("usage", ["bond", "--key", coffee, "--validator", "zz",
                       "--amount", "5"]),
            ("usage", ["unbond", "--key", coffee, "--validator", c.v1]),
            ("usage", ["bond", "--validator", c.v1, "--amount", "5"]),
            ("bad_address", ["stake", "transfer", "--key", coffee, "--to",
                       "cairn1nope", "--amount", "5"]),
            ("usage", ["admit", "--key", coffee, "--validator", c.v1,
                       "--name", "Bad Name", "--amount", "5"]),
            ("bad_key", ["admit", "--key", coffee, "--validator", "ff" * 32,
                         "--name", "x", "--amount", "5"]),
            ("usage", ["admit", "--key", coffee, "--validator",
                       ed25519_key()[1].hex(), "--name", "x", "--amount", "5",
                       "--deadline", "1"]),
            ("usage", ["approve", "--key", coffee, "--proposal", "12"]),
            ("usage", ["evidence", "submit", "--key", coffee, "--evidence",
                       "00", "--from-node"]),
            ("usage", ["stake", "frobnicate"]),
        ]
        c.advance_to(2)
        for code, args in cases:
            c.rejected(code, *args, exit_code=2)
        status, st = c.node.get("/v1/status")
        assert st["mempool_txs"] == 0, st
        r = c.node.cairn("bond", "--key", coffee, "--validator", "zz",
                         "--amount", "5", check=2)
        assert "64 hexadecimal characters" in r.stderr, r.stderr
        status, ans = c.node.get("/v1/stake/cairn1nope")
        assert status == 400, ans
        status, ans = c.node.get("/v1/admissions/zz")
        assert status == 400 and ans["error"]["code"] == "bad_hex", ans
        status, ans = c.node.get("/v1/admissions/" + "00" * 32)
        assert status == 404 and ans["error"]["code"] == "proposal_unknown", ans
