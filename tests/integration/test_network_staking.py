"""Validator-set changes and slashing on a real four-validator network
(issue 6, items 4-5): bonding changes a validator's power exactly at the
announced height; a new partner's node is admitted by approvals of more
than 2/3 of the stake, joins at the announced height and votes; and a
validator run twice with one key (the Twins method: two cairnd processes,
one validator key, each with its own signer state) equivocates, is caught
by the others, slashed and jailed, while no two different blocks are ever
committed at one height."""
import json
import os
import re
import shutil
import subprocess
import time

from harness import CAIRND, Node, base_env, free_port
from netharness import Testnet


def validators(net, i=0):
    status, body = net.nodes[i].get("/v1/validators")
    assert status == 200, body
    return body


def header_valhash(net, h, i=0):
    return net.block(i, h)["header"]["validators_hash"]


def wait_for(pred, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def committed_height(net, r):
    m = re.search(r"committed in block (\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    return int(m.group(1))


def push_blocks(net, until, alice):
    """Make blocks (a block needs a transaction) until height `until`."""
    while net.nodes[0].height() < until:
        net.issue(0, alice, amount=1)


def test_bond_changes_power_at_the_announced_height():
    with Testnet(4) as net:
        net.start()
        alice = net.address("alice")
        vs = validators(net)
        delay = vs["staking"]["valset_delay_blocks"]
        coffee_node = [v for v in vs["validators"] if v["name"] == "coffee-node"][0]
        r = net.cairn(1, "bond", "--key", net.key("coffee"), "--validator",
                      coffee_node["pubkey"], "--amount", "5", check=0)
        h = committed_height(net, r)
        announced = h + delay
        changes = validators(net)["changes"]
        want = str(int(coffee_node["bonded"]) + 5)
        assert {"effective_height": announced, "pubkey": coffee_node["pubkey"],
                "power": want} in changes, changes
        push_blocks(net, announced, alice)
        net.wait_height(announced)
        # The header of every block before the announced height carries the
        # old set's hash, from it on the new one.
        before = header_valhash(net, announced - 1)
        after = header_valhash(net, announced)
        assert before == header_valhash(net, h)
        assert after != before
        now = [v for v in validators(net)["set"] if v["pubkey"] == coffee_node["pubkey"]]
        assert now and now[0]["power"] == want, now
        push_blocks(net, announced + 1, alice)
        net.assert_same_chain()


def _new_validator_home(net, port, p2p_port):
    """A fresh node home with its own key on the testnet's genesis."""
    tmp = os.path.join(net.tmp, "newnode")
    r = subprocess.run([CAIRND, "init", "--demo", "--home", tmp, "--listen",
                        f"127.0.0.1:{port}"], env=base_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    shutil.copy(os.path.join(net.dir, "genesis.json"),
                os.path.join(tmp, "genesis.json"))
    cfg_path = os.path.join(tmp, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["p2p_listen"] = f"127.0.0.1:{p2p_port}"
    cfg["peers"] = [{"address": f"127.0.0.1:{net.base + 10 + j}",
                     "key": net.node_key(j)} for j in range(net.n)]
    cfg["timeouts"] = net.config(0)["timeouts"]
    cfg["sync"] = False
    cfg["block_interval_ms"] = 50
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    node = Node(home=tmp)
    node.port = port
    node.url = f"http://127.0.0.1:{port}"
    node.log_path = os.path.join(net.tmp, "newnode.log")
    return node


def _node_pubkey(node):
    status, body = node.get("/v1/status")
    assert status == 200, body
    return body["validator"]


def test_admission_of_a_new_partner_node():
    with Testnet(4) as net:
        net.start()
        alice = net.address("alice")
        new = _new_validator_home(net, free_port(), free_port())
        new.start()
        try:
            pk = _node_pubkey(new)
            r = net.cairn(0, "admit", "--key", net.key("newbrand"),
                          "--validator", pk, "--name", "newbrand-node",
                          "--amount", "100", check=0)
            m = re.search(r"proposal ([0-9a-f]{64})", r.stdout)
            assert m, r.stdout
            proposal = m.group(1)
            # Two approvals (half the power) are not enough; the third
            # (3/4 > 2/3) decides.
            for op in ("coffee", "pizza"):
                net.cairn(0, "approve", "--key", net.key(op), "--proposal",
                          proposal, check=0)
            status, adm = net.nodes[0].get(f"/v1/admissions/{proposal}")
            assert adm["status"] == "open", adm
            r = net.cairn(0, "approve", "--key", net.key("books"),
                          "--proposal", proposal, check=0)
            decided = committed_height(net, r)
            status, adm = net.nodes[0].get(f"/v1/admissions/{proposal}")
            assert adm["status"] == "admitted", adm
            announced = decided + validators(net)["staking"]["valset_delay_blocks"]
            push_blocks(net, announced, alice)
            assert pk in {v["pubkey"] for v in validators(net)["set"]}
            assert pk not in {v["pubkey"] for v in
                              _set_at(net, announced - 1)}
            # The new node follows the chain and now signs commits.
            def signed():
                net.issue(0, alice, amount=1)
                h = net.nodes[0].height()
                return any(pk in net.signers(0, x)
                           for x in range(announced, h + 1))
            wait_for(signed, timeout=40, what="the admitted node's precommit")
            wait_for(lambda: new.height() >= announced, what="new node sync")
            net.assert_same_chain()
        finally:
            new.cleanup()


def _set_at(net, h):
    """Validators that signed the commit of height h (a subset of the set
    in force there)."""
    return [{"pubkey": k} for k in net.signers(0, h)]


def test_twins_equivocate_and_are_slashed_and_jailed():
    with Testnet(4) as net:
        # node0 and its twin share node0's validator key. node0 talks to
        # node1 and node2; the twin talks to node3 only, and node3 reaches
        # "node0's key" at the twin's address. Votes are re-gossiped, so the
        # twins' conflicting votes meet at the honest nodes.
        twin_home = os.path.join(net.tmp, "twin")
        shutil.copytree(os.path.join(net.dir, "node0"), twin_home,
                        ignore=shutil.ignore_patterns("data", "*.log"))
        twin_port, twin_p2p = free_port(), free_port()
        key0 = net.node_key(0)
        keys = {j: net.node_key(j) for j in range(1, 4)}
        peer = lambda j: {"address": f"127.0.0.1:{net.base + 10 + j}",
                          "key": keys[j]}
        net.edit_config(0, lambda c: c.update({"peers": [peer(1), peer(2)]}))
        net.edit_config(3, lambda c: c.update(
            {"peers": [peer(1), peer(2),
                       {"address": f"127.0.0.1:{twin_p2p}", "key": key0}]}))
        with open(os.path.join(twin_home, "config.json")) as f:
            cfg = json.load(f)
        cfg.update({"listen": f"127.0.0.1:{twin_port}",
                    "p2p_listen": f"127.0.0.1:{twin_p2p}",
                    "genesis": os.path.join(net.dir, "genesis.json"),
                    "peers": [peer(3)]})
        with open(os.path.join(twin_home, "config.json"), "w") as f:
            json.dump(cfg, f)
        twin = Node(home=twin_home)
        twin.port = twin_port
        twin.url = f"http://127.0.0.1:{twin_port}"
        twin.log_path = os.path.join(net.tmp, "twin.log")
        net.start()
        twin.start()
        try:
            alice = net.address("alice")
            net.issue(1, alice, amount=1)
            # With node2 stopped every block needs node0's key, node1 and
            # node3. When the twins' key proposes, node0 proposes one block
            # to node1 and its twin another to node3: each side prevotes
            # its own, no block gets 2/3, and the round times out - long
            # enough for re-gossip to bring both of the key's votes to
            # node1 and node3, who catch the equivocation.
            net.stop(2)
            def caught():
                net.cairn(1, "issue", "--key", net.key("coffee"), "--brand",
                          "coffee", "--to", alice, "--amount", "1",
                          "--no-wait")
                time.sleep(0.3)
                for i in (1, 3):
                    status, body = net.nodes[i].get("/v1/evidence")
                    if status == 200 and body.get("evidence"):
                        return i
                return None
            i = wait_for(caught, timeout=90, what="evidence of equivocation")
            net.start(2)
            # Evidence is admissible once its height is committed.
            status, body = net.nodes[i].get("/v1/evidence")
            ev_height = max(e["height"] for e in body["evidence"])
            def past():
                net.issue(1, alice, amount=1)
                return net.nodes[i].height() >= ev_height
            wait_for(past, timeout=60, what="the evidence's height committed")
            net.assert_same_chain([1, 2, 3])
            r = net.cairn(i, "evidence", "submit", "--key", net.key("alice"),
                          "--from-node", check=0)
            vs = wait_for(lambda: [v for v in validators(net, 1)["validators"]
                                   if v["pubkey"] == key0 and v["jailed"]],
                          what="jailing")
            rec = vs[0]
            slash = validators(net, 1)["staking"]["slash_percent"]
            assert int(rec["bonded"]) == 100 - 100 * slash // 100, rec
            delay = validators(net, 1)["staking"]["valset_delay_blocks"]
            jailed_at = net.nodes[1].height()
            push_blocks_on(net, 1, jailed_at + delay, alice)
            assert key0 not in {v["pubkey"] for v in validators(net, 1)["set"]}
            net.assert_same_chain([1, 2, 3])
            # The chain goes on without the jailed key (all the power left).
            h = net.nodes[1].height()
            net.issue(2, alice, amount=1)
            net.wait_height(h + 1, [1, 2, 3])
            net.assert_same_chain([1, 2, 3])
            assert r.returncode == 0
        finally:
            twin.cleanup()


def push_blocks_on(net, i, until, alice):
    while net.nodes[i].height() < until:
        net.issue(i, alice, amount=1)
