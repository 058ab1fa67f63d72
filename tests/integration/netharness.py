"""A local validator network for integration tests: `cairnd testnet` homes,
one real cairnd process per validator, and an optional fault-injecting TCP
proxy on every peer link.

Everything goes through the real binaries and the HTTP API; the proxy only
moves (or delays, or cuts) the encrypted bytes the nodes exchange."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import CAIRN, CAIRND, base_env, Node

# Short rounds so a test that waits for a timeout does not wait long.
FAST_TIMEOUTS = {"propose_ms": 600, "propose_delta_ms": 300,
                 "prevote_ms": 300, "prevote_delta_ms": 150,
                 "precommit_ms": 300, "precommit_delta_ms": 150}


def free_base(count):
    """A base port such that base+i (API) and base+10+i (peer) are free."""
    for _ in range(200):
        base = random.randrange(20000, 60000, 20)
        ok = True
        for p in list(range(base, base + count)) + \
                list(range(base + 10, base + 10 + count)):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise AssertionError("no free port range for a testnet")


class Proxy:
    """Forwards one peer address to another, with faults on demand:
    delay (seconds per chunk), drop (probability per chunk of cutting the
    connection, i.e. loss on a stream), and blocked (refuse and cut)."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.delay = 0.0
        self.drop = 0.0
        self.blocked = False
        self.rng = random.Random(os.environ.get("CAIRN_PROXY_SEED", "7"))
        self.conns = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.blocked:
                c.close()
                continue
            try:
                u = socket.create_connection(self.target, timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data or self.blocked:
                    break
                if self.drop and self.rng.random() < self.drop:
                    break
                if self.delay:
                    time.sleep(self.delay)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for c, u in conns:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.cut()
        self.sock.close()


class Testnet:
    """N validators from `cairnd testnet`; nodes[i] is a harness.Node."""

    def __init__(self, n=4, block_interval_ms=50, proxies=False):
        self.tmp = tempfile.mkdtemp(prefix="cairn-net-")
        self.dir = os.path.join(self.tmp, "net")
        self.n = n
        self.base = free_base(n)
        r = subprocess.run([CAIRND, "testnet", "--dir", self.dir,
                            "--validators", str(n), "--base-port",
                            str(self.base), "--block-interval-ms",
                            str(block_interval_ms)],
                           env=base_env(), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"cairnd testnet failed: {r.stdout}{r.stderr}"
        self.proxies = {}
        self.nodes = []
        for i in range(n):
            home = os.path.join(self.dir, f"node{i}")
            node = Node(home=home)
            node.port = self.base + i
            node.url = f"http://127.0.0.1:{node.port}"
            node.log_path = os.path.join(self.tmp, f"node{i}.log")
            self.nodes.append(node)
            self.edit_config(i, lambda c: c.update(
                {"timeouts": FAST_TIMEOUTS, "sync": False}))
        if proxies:
            self.route_through_proxies()

    # --- homes and configuration ---
    def config_path(self, i):
        return os.path.join(self.dir, f"node{i}", "config.json")

    def config(self, i):
        with open(self.config_path(i)) as f:
            return json.load(f)

    def edit_config(self, i, fn):
        c = self.config(i)
        fn(c)
        with open(self.config_path(i), "w") as f:
            json.dump(c, f, indent=2)

    def node_key(self, i):
        """The hex public key of node i (from the others' peer lists)."""
        port = self.base + 10 + i
        for j in range(self.n):
            for p in self.config(j).get("peers", []):
                if p["address"].endswith(f":{port}"):
                    return p["key"]
        raise AssertionError(f"no peer entry for node {i}")

    def key(self, name):
        return os.path.join(self.dir, "keys", f"{name}.key")

    def route_through_proxies(self):
        """Every node dials every other through its own proxy (i -> j)."""
        for i in range(self.n):
            def fix(c, i=i):
                for p in c["peers"]:
                    port = int(p["address"].rsplit(":", 1)[1])
                    j = port - self.base - 10
                    px = Proxy(port)
                    self.proxies[(i, j)] = px
                    p["address"] = f"127.0.0.1:{px.port}"
            self.edit_config(i, fix)

    def link_proxies(self, a, b):
        return [p for (i, j), p in self.proxies.items()
                if (i, j) in ((a, b), (b, a))]

    def partition(self, group_a, group_b, on=True):
        for a in group_a:
            for b in group_b:
                for p in self.link_proxies(a, b):
                    p.blocked = on
                    if on:
                        p.cut()

    # --- processes ---
    def start(self, *idx):
        for i in (idx or range(self.n)):
            self.nodes[i].start(wait=False)
        for i in (idx or range(self.n)):
            self.nodes[i].wait_ready()

    def stop(self, *idx):
        for i in idx:
            self.nodes[i].stop()

    def wipe(self, i):
        shutil.rmtree(os.path.join(self.dir, f"node{i}", "data"),
                      ignore_errors=True)

    def cleanup(self):
        for node in self.nodes:
            if node.proc is not None:
                node.proc.kill()
                node.proc.wait()
                node.proc = None
        for p in self.proxies.values():
            p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            for i, node in enumerate(self.nodes):
                print(f"--- node{i} log (tail) ---")
                print("\n".join(node.log().splitlines()[-40:]))
        self.cleanup()
        return False

    # --- observing the chain ---
    def running(self):
        return [i for i in range(self.n) if self.nodes[i].proc is not None]

    def heights(self, idx=None):
        return {i: self.nodes[i].height() for i in (idx or self.running())}

    def wait_height(self, h, idx=None, timeout=30):
        idx = idx or self.running()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hs = self.heights(idx)
            if min(hs.values()) >= h:
                return hs
            time.sleep(0.1)
        raise AssertionError(f"nodes {idx} did not reach height {h} in "
                             f"{timeout}s: {self.heights(idx)}")

    def block(self, i, h):
        status, body = self.nodes[i].get(f"/v1/blocks/{h}")
        assert status == 200, (i, h, body)
        return body

    def assert_same_chain(self, idx=None):
        """Safety: every node that has height h has the same block there."""
        idx = idx or self.running()
        top = max(self.heights(idx).values())
        for h in range(1, top + 1):
            seen = {}
            for i in idx:
                status, body = self.nodes[i].get(f"/v1/blocks/{h}")
                if status == 200:
                    seen[i] = body["hash"]
            assert len(set(seen.values())) <= 1, f"fork at height {h}: {seen}"
        return top

    def signers(self, i, h):
        return {s["validator"] for s in self.block(i, h)["commit"]["signatures"]}

    # --- wallet ---
    def cairn(self, i, *args, check=None):
        return self.nodes[i].cairn(*args, check=check)

    def issue(self, i, to_addr, amount=10, brand="coffee"):
        return self.cairn(i, "issue", "--key", self.key(brand), "--brand",
                          brand, "--to", to_addr, "--amount", str(amount),
                          check=0)

    def address(self, name):
        r = subprocess.run([CAIRN, "address", "--key", self.key(name)],
                           env=base_env(), capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip().split()[-1]
