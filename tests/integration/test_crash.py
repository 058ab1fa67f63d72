"""Crash safety: SIGKILL cairnd again and again while transactions stream
in. Every transaction the API reported as committed must survive each
restart, and the stored state must equal a replay of the chain from genesis
(`cairn audit`) - a crash leaves the old state or the new, never a mix."""
import os
import random
import threading
import time

from harness import Node, new_member

ROUNDS = 6
SEED = int(os.environ.get("CAIRN_TEST_SEED", str(int(time.time()))))


class Streamer(threading.Thread):
    """Submits 1-point ISSUE transactions through the real wallet until told
    to stop, and records which ones the API reports as committed."""

    def __init__(self, node, members, rng):
        super().__init__(daemon=True)
        self.node, self.members, self.rng = node, members, rng
        self.stop_flag = threading.Event()
        self.submitted = []
        self.committed = {}  # txid -> height, as reported by the API

    def run(self):
        while not self.stop_flag.is_set():
            addr = self.rng.choice(self.members)
            try:
                r, body = self.node.cairn_json("issue", "--key", self.node.key("coffee"),
                                               "--brand", "coffee", "--to", addr,
                                               "--amount", "1", "--no-wait", timeout=20)
            except Exception:  # node killed mid-request: expected here
                continue
            if r.returncode == 0 and "txid" in body:
                self.submitted.append(body["txid"])
            self.poll()

    def poll(self):
        for txid in self.submitted:
            if txid in self.committed:
                continue
            try:
                status, body = self.node.get(f"/v1/txs/{txid}")
            except OSError:
                return
            if status == 200 and body.get("status") == "committed":
                self.committed[txid] = body["height"]


def test_sigkill_while_streaming():
    print(f"crash test seed {SEED}")
    rng = random.Random(SEED)
    with Node(block_interval_ms=20).init_demo() as node:
        node.start()
        members = [new_member(node, f"m{i}")[1] for i in range(4)]
        committed = {}
        for rnd in range(ROUNDS):
            if node.proc is None:
                node.start()
            for txid, height in committed.items():
                status, body = node.get(f"/v1/txs/{txid}")
                assert status == 200 and body["status"] == "committed", (rnd, txid, body)
                assert body["height"] == height, (txid, body["height"], height)
            streamer = Streamer(node, members, rng)
            streamer.start()
            time.sleep(rng.uniform(0.5, 1.5))
            streamer.poll()
            node.kill()
            streamer.stop_flag.set()
            streamer.join(timeout=30)
            committed.update(streamer.committed)
        assert len(committed) >= ROUNDS, f"too few commits observed: {len(committed)}"

        node.start()
        for txid, height in committed.items():
            status, body = node.get(f"/v1/txs/{txid}")
            assert status == 200 and body["status"] == "committed", (txid, body)
        # Every point in balances came from exactly one committed 1-point ISSUE.
        tip = node.height()
        total_txs = sum(node.get(f"/v1/blocks/{h}")[1]["header"]["tx_count"]
                        for h in range(1, tip + 1))
        total_points = 0
        for addr in members:
            _, acct = node.get(f"/v1/accounts/{addr}")
            total_points += sum(int(b["amount"]) for b in acct["balances"])
        assert total_points == total_txs, (total_points, total_txs)
        assert node.stop() == 0
        # Stored state equals a replay from genesis.
        r = node.cairn("audit", "--data", os.path.join(node.home, "data"), check=0)
        assert "OK" in r.stdout, r.stdout
