"""Four real cairnd validators on loopback (issue 6): agreement, liveness
with one node down, halting and resuming with two down, catching up after a
wiped data directory, and safety under delay, loss and partitions injected
by a proxy on every peer link."""
import time

from netharness import Testnet


def _member(net):
    return net.address("alice")


def test_four_validators_commit_identical_blocks():
    with Testnet(4) as net:
        net.start()
        alice = _member(net)
        # Transactions enter through different nodes; gossip brings them to
        # whoever proposes.
        for i in range(4):
            net.issue(i, alice, amount=5 + i)
        top = net.wait_height(1)
        top = net.assert_same_chain()
        assert top >= 1
        # Every node reports the same balance: the same state everywhere.
        for node in net.nodes:
            status, body = node.get(f"/v1/accounts/{alice}")
            assert status == 200, body
            coffee = [b for b in body["balances"] if b["name"] == "coffee"]
            assert coffee and int(coffee[0]["amount"]) == 5 + 6 + 7 + 8, body
        # Each node is linked to the three others and is a voting member.
        for node in net.nodes:
            status, body = node.get("/v1/status")
            assert body["in_validator_set"] is True, body
            assert body["consensus"]["peers"] == 3, body
            assert body["consensus"]["height"] == body["height"] + 1, body
            assert body["consensus"]["step"] in (
                "waiting", "propose", "prevote", "precommit"), body
        # Commits carry precommits of more than 2/3 of the stake (>= 3 of 4).
        for h in range(1, top + 1):
            assert len(net.signers(0, h)) >= 3


def test_one_of_four_down_chain_goes_on_and_it_catches_up():
    with Testnet(4) as net:
        net.start()
        alice = _member(net)
        net.issue(0, alice)
        net.stop(3)
        before = net.heights([0, 1, 2])[0]
        for k in range(3):  # at least one height has node 3 as proposer
            net.issue(k % 3, alice)
        net.wait_height(before + 1, [0, 1, 2])
        net.start(3)
        top = max(net.heights([0, 1, 2]).values())
        net.wait_height(top, [3])  # block sync from its peers
        net.assert_same_chain()


def test_two_of_four_down_halts_then_resumes_without_fork():
    with Testnet(4) as net:
        net.start()
        alice = _member(net)
        net.issue(0, alice)
        net.stop(2, 3)
        halted = net.heights([0, 1])
        r = net.cairn(0, "issue", "--key", net.key("coffee"), "--brand",
                      "coffee", "--to", alice, "--amount", "3", "--no-wait",
                      check=0)
        time.sleep(4)  # several rounds: half the stake cannot commit
        assert net.heights([0, 1]) == halted, "committed without 2/3 of stake"
        net.start(2)
        net.wait_height(max(halted.values()) + 1, [0, 1, 2])
        assert r.returncode == 0
        net.assert_same_chain()


def test_wiped_node_catches_up_then_votes():
    with Testnet(4) as net:
        net.start()
        alice = _member(net)
        for k in range(3):
            net.issue(k, alice)
        net.stop(1)
        net.wipe(1)
        top = max(net.heights([0, 2, 3]).values())
        net.start(1)
        net.wait_height(top, [1])
        net.assert_same_chain()
        # Now it votes again: its key signs the commits of new blocks.
        key1 = net.node_key(1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            net.issue(0, alice)
            h = net.nodes[0].height()
            if any(key1 in net.signers(0, x) for x in range(top + 1, h + 1)):
                break
        else:
            raise AssertionError("the re-synced node never signed a commit")
        net.assert_same_chain()


def test_delay_loss_and_partition_keep_safety():
    with Testnet(4, proxies=True) as net:
        for p in net.proxies.values():
            p.delay = 0.02
            p.drop = 0.01
        net.start()
        alice = _member(net)
        net.issue(0, alice)
        # A 2/2 split: neither side holds more than 2/3 of the stake.
        net.partition([0, 1], [2, 3])
        split = net.heights()
        net.cairn(0, "issue", "--key", net.key("coffee"), "--brand", "coffee",
                  "--to", alice, "--amount", "2", "--no-wait", check=0)
        net.cairn(2, "issue", "--key", net.key("pizza"), "--brand", "pizza",
                  "--to", alice, "--amount", "2", "--no-wait", check=0)
        time.sleep(4)
        assert net.heights() == split, "a minority side committed a block"
        net.partition([0, 1], [2, 3], on=False)
        net.wait_height(max(split.values()) + 1, timeout=60)
        for k in range(3):
            net.issue(k, alice)
        net.assert_same_chain()
