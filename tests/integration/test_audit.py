"""cairn audit against real nodes: the API and the data directory give the
same verdict and report, the report's numbers are what the test did, the
JSON and CSV shapes, exported checkpoints, and clear refusals of bad
input."""
import csv
import io
import json
import os
import subprocess

from harness import CAIRN, Node, base_env, free_port, new_member


def cairn(*args, timeout=120):
    """The real wallet with no global --node (audit takes its own)."""
    return subprocess.run([CAIRN, *args], env=base_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def expect(r, code, *parts):
    out = r.stdout + r.stderr
    assert r.returncode == code, f"exit {r.returncode}, expected {code}:\n{out}"
    for p in parts:
        assert p in out, f"expected {p!r} in:\n{out}"


def scenario(node):
    """Coffee issues 150 and two coupons (one redeemed), 30 are redeemed, 10
    transferred; pizza issues 5."""
    me, addr = new_member(node, "me")
    _, other = new_member(node, "other")
    coffee = node.key("coffee")
    node.cairn("issue", "--key", coffee, "--brand", "coffee", "--to", addr,
               "--amount", "100", check=0)
    node.cairn("issue", "--key", coffee, "--brand", "coffee", "--to", other,
               "--amount", "50", check=0)
    node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount", "30",
               "--order", "A-1", check=0)
    node.cairn("transfer", "--key", me, "--brand", "coffee", "--to", other,
               "--amount", "10", check=0)
    for _ in range(2):
        r, body = node.cairn_json("coupon", "issue", "--key", coffee, "--brand",
                                  "coffee", "--to", addr, "--percent", "10",
                                  "--label", "10% off")
        assert r.returncode == 0, r.stderr
    coupon = body.get("coupon") or body.get("coupon_id") or body.get("txid")
    node.cairn("coupon", "redeem", "--key", me, "--coupon", coupon, "--brand",
               "coffee", "--order", "A-2", check=0)
    node.cairn("issue", "--key", node.key("pizza"), "--brand", "pizza", "--to",
               addr, "--amount", "5", check=0)
    return me


def comparable(report):
    """A JSON report without what differs between sources."""
    return {k: v for k, v in report.items()
            if k not in ("elapsed_ms", "sources")}


def test_node_and_data_agree_and_report_adds_up():
    with Node().init_demo().start() as node:
        scenario(node)
        data = os.path.join(node.home, "data")
        r = cairn("--json", "audit", "--node", node.url)
        expect(r, 0)
        by_node = json.loads(r.stdout)
        r = cairn("--json", "audit", "--data", data)  # the node is running
        expect(r, 0)
        by_data = json.loads(r.stdout)
        assert by_node["ok"] and by_data["ok"]
        assert comparable(by_node) == comparable(by_data)
        status, st = node.get("/v1/status")
        assert status == 200
        assert by_node["tip_height"] == st["height"] == by_node["blocks"]
        assert by_node["tip_hash"] == st["tip_hash"]
        assert by_node["app_hash"] == st["app_hash"]
        brands = {b["name"]: b for b in by_node["brands"]}
        coffee, pizza = brands["coffee"], brands["pizza"]
        assert coffee["issued"] == "150" and coffee["redeemed_home"] == "30"
        assert coffee["outstanding"] == "120" == coffee["balances"]
        assert coffee["redeemed_partner"] == coffee["expired"] == "0"
        assert coffee["reversed"] == coffee["held"] == "0"
        assert pizza["issued"] == "5" and pizza["outstanding"] == "5"
        assert brands["books"]["issued"] == "0"
        coupons = {c["brand"]: c for c in by_node["coupons"]}
        assert coupons["coffee"]["issued"] == 2
        assert coupons["coffee"]["redeemed"] == 1
        assert coupons["coffee"]["outstanding"] == 1
        assert coupons["coffee"]["expired"] == 0
        assert by_node["settlement"] == []
        [val] = by_node["validators"]
        assert val["blocks_proposed"] == by_node["blocks"]
        assert val["votes_missed"] == 0 and val["slashing_events"] == 0
        # The human form.
        r = cairn("audit", "--data", data)
        expect(r, 0, "audit OK", "points per brand", "settlement matrix",
               "coupons per brand", "validators")
        line = [ln for ln in r.stdout.splitlines()
                if ln.strip().startswith("coffee") and "150" in ln]
        assert line and line[0].split()[-1] == "120", r.stdout


def test_csv_shape():
    with Node().init_demo().start() as node:
        scenario(node)
        r = cairn("audit", "--csv", "--node", node.url)
        expect(r, 0)
        sections, name = {}, None
        for block in r.stdout.strip().split("\n\n"):
            lines = block.splitlines()
            assert lines[0].startswith("# "), block
            name = lines[0][2:]
            sections[name] = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
        assert list(sections) == ["audit", "brands", "settlement", "coupons",
                                  "validators"]
        audit = dict(sections["audit"][1:])
        assert sections["audit"][0] == ["field", "value"]
        assert audit["ok"] == "true" and audit["chain_id"] == "cairn-demo"
        head, *rows = sections["brands"]
        assert head[:3] == ["brand", "brand_id", "issued"]
        assert head[-1] == "outstanding"
        coffee = dict(zip(head, [r for r in rows if r[0] == "coffee"][0]))
        assert coffee["issued"] == "150" and coffee["outstanding"] == "120"
        assert len(rows) == 3
        assert sections["settlement"] == [["debtor", "debtor_id", "creditor",
                                           "creditor_id", "points"]]
        assert len(sections["validators"]) == 2
        assert len(sections["validators"][1][0]) == 64
        r = cairn("--json", "audit", "--csv", "--node", node.url)
        expect(r, 2, "--json and --csv")


def test_export_and_verify_checkpoint():
    with Node().init_demo().start() as node:
        me = scenario(node)
        tmp = node.tmp
        cp, export = os.path.join(tmp, "cp.json"), os.path.join(tmp, "export.json")
        r = cairn("audit", "--watch", "--once", "--checkpoint", cp, "--node",
                  node.url, "--export", export, "--key", me)
        expect(r, 0, "audit OK", "exported to")
        signed = json.load(open(export))
        height = node.height()
        assert signed["height"] == height and len(signed["signature"]) == 128
        assert signed["auditor"].startswith("cairn1")
        r = cairn("audit", "verify-checkpoint", export)
        expect(r, 0, "signature OK", signed["auditor"])
        r = cairn("audit", "verify-checkpoint", export, "--node", node.url)
        expect(r, 0, "MATCH")
        r = cairn("--json", "audit", "verify-checkpoint", export, "--data",
                  os.path.join(node.home, "data"))
        expect(r, 0)
        body = json.loads(r.stdout)
        assert body["signature_valid"] is True and body["match"] is True
        # A forged height no longer verifies.
        signed["height"] = height - 1
        with open(export, "w") as f:
            json.dump(signed, f)
        r = cairn("audit", "verify-checkpoint", export)
        expect(r, 1, "does not verify")


def test_bad_inputs():
    with Node().init_demo() as node:  # never started: nothing listens
        data = os.path.join(node.tmp, "no-such-dir")
        expect(cairn("audit", "--data", data), 1, "cannot audit", data)
        url = f"http://127.0.0.1:{free_port()}"
        expect(cairn("audit", "--node", url), 3, "cannot reach")
        expect(cairn("audit", "--data", data, "--node", url), 2, "not both")
        expect(cairn("audit"), 2, "needs --data DIR or --node URL")
        expect(cairn("audit", "--node", "https://example.org"), 2, "http")
        expect(cairn("audit", "--data", data, "--watch"), 2, "--checkpoint")
        expect(cairn("audit", "--data", data, "--once"), 2, "needs --watch")
        cp = os.path.join(node.tmp, "cp.json")
        expect(cairn("audit", "--data", data, "--watch", "--checkpoint", cp,
                     "--export", cp + ".x"), 2, "--key")
        with open(cp, "w") as f:
            f.write("{not a checkpoint")
        home_data = os.path.join(node.home, "data")
        os.makedirs(home_data, exist_ok=True)
        expect(cairn("audit", "--watch", "--once", "--checkpoint", cp, "--data",
                     home_data), 1, "checkpoint", "cannot be used")
        expect(cairn("audit", "verify-checkpoint", cp), 1,
               "not a signed checkpoint")
        expect(cairn("audit", "--data", home_data, "--threads", "0"), 2,
               "--threads")


def test_cross_brand_chain_adds_up():
    """Partner redemption, an open hold and a capture: the report's columns
    and the settlement matrix come from the replayed state, and
    conservation holds."""
    with Node().init_demo().start() as node:
        me, addr = new_member(node, "me")
        coffee, pizza = node.key("coffee"), node.key("pizza")
        node.cairn("issue", "--key", coffee, "--brand", "coffee", "--to", addr,
                   "--amount", "100", check=0)
        r, body = node.cairn_json("agree", "--key", coffee, "--from", "coffee",
                                  "--to", "pizza", "--rate", "80:100")
        assert r.returncode == 0, r.stderr
        agreement = body["agreement"]
        node.cairn("agree", "--key", pizza, "--from", "coffee", "--to", "pizza",
                   "--rate", "80:100", check=0)
        node.cairn("redeem", "--key", me, "--brand", "coffee", "--amount", "20",
                   "--at", "pizza", "--agreement", agreement, check=0)
        r, body = node.cairn_json("hold", "--key", me, "--brand", "coffee",
                                  "--amount", "10", "--order", "H-1",
                                  "--timeout-in", "500")
        assert r.returncode == 0, r.stderr
        node.cairn("capture", "--key", coffee, "--hold", body["hold"],
                   "--amount", "4", check=0)
        node.cairn("hold", "--key", me, "--brand", "coffee", "--amount", "3",
                   "--order", "H-2", "--timeout-in", "500", check=0)
        for args in (("--node", node.url), ("--data", os.path.join(node.home, "data"))):
            r = cairn("--json", "audit", *args)
            expect(r, 0)
            rep = json.loads(r.stdout)
            coffee_row = [b for b in rep["brands"] if b["name"] == "coffee"][0]
            assert coffee_row["issued"] == "100", coffee_row
            assert coffee_row["redeemed_partner"] == "20", coffee_row
            assert coffee_row["redeemed_home"] == "4", coffee_row
            assert coffee_row["held"] == "3", coffee_row
            assert coffee_row["outstanding"] == "76", coffee_row
            assert coffee_row["balances"] == "73", coffee_row
            [owed] = rep["settlement"]
            assert owed["debtor"] == "coffee" and owed["creditor"] == "pizza"
            assert owed["points"] == "16", owed
