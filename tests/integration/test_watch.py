"""Continuous audits against real nodes: each run verifies only the new
blocks; a node whose history was replaced by another chain of the same
genesis, or cut short, raises an alarm naming both hashes; two nodes that
disagree raise one too, and two that agree pass."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

from harness import CAIRN, Node, base_env, new_member


def cairn(*args, timeout=120):
    return subprocess.run([CAIRN, *args], env=base_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def clone(src_home, node):
    """Give node a copy of src_home (same genesis and keys) that listens on
    node's own port."""
    shutil.copytree(src_home, node.home)
    path = os.path.join(node.home, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["listen"] = f"127.0.0.1:{node.port}"
    with open(path, "w") as f:
        json.dump(cfg, f)
    return node


def issue(node, addr, amount, times=1):
    for _ in range(times):
        node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                   "--to", addr, "--amount", str(amount), check=0)


def watch(cp, *nodes, json_out=False):
    args = ["audit", "--watch", "--once", "--checkpoint", cp]
    for n in nodes:
        args += ["--node", n.url]
    return cairn(*(["--json"] if json_out else []), *args)


def verified(r):
    m = re.search(r"verified (\d+) new block", r.stdout)
    assert r.returncode == 0 and m, f"exit {r.returncode}:\n{r.stdout}{r.stderr}"
    return int(m.group(1))


def test_watch_new_blocks_then_rewritten_history():
    with Node().init_demo() as a, Node() as b, Node() as c:
        clone(a.home, b)  # same genesis and keys, its own future
        clone(a.home, c)  # stays empty: a truncated history
        a.start()
        _, addr = new_member(a, "me")
        issue(a, addr, 100, times=3)
        cp = os.path.join(a.tmp, "audit.checkpoint")
        h1 = a.height()
        assert verified(watch(cp, a)) == h1
        issue(a, addr, 7, times=2)
        h2 = a.height()
        assert verified(watch(cp, a)) == h2 - h1
        r = watch(cp, a, json_out=True)
        body = json.loads(r.stdout)
        assert r.returncode == 0 and body["ok"], r.stdout
        assert body["blocks_verified"] == 0 and body["checkpoint"]["height"] == h2
        trusted = json.load(open(cp))
        assert trusted["height"] == h2
        a.stop()
        # B: the same genesis, different transactions, a longer chain.
        b.start()
        _, baddr = new_member(b, "me")
        while b.height() < h2 + 1:
            issue(b, baddr, 3)
        b.stop()
        shutil.rmtree(os.path.join(a.home, "data"))
        shutil.copytree(os.path.join(b.home, "data"), os.path.join(a.home, "data"))
        a.start()
        status, blk = a.get(f"/v1/blocks/{h2}")
        assert status == 200 and blk["hash"] != trusted["block_hash"]
        r = watch(cp, a)
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        assert f"ALARM: history rewritten at height {h2}" in out, out
        assert trusted["block_hash"] in out and blk["hash"] in out, out
        # The trusted checkpoint is kept: the alarm repeats.
        assert json.load(open(cp)) == trusted
        assert watch(cp, a).returncode == 1
        a.stop()
        # A node that lost its history is behind the checkpoint.
        c.start()
        r = watch(cp, c)
        assert r.returncode == 1 and "ALARM" in r.stdout, r.stdout + r.stderr
        assert "behind" in r.stdout, r.stdout


def test_two_nodes_disagree_or_agree():
    with Node().init_demo() as a, Node() as b, Node() as twin:
        clone(a.home, b)
        a.start()
        _, addr = new_member(a, "me")
        issue(a, addr, 100, times=2)
        b.start()
        _, baddr = new_member(b, "me")
        issue(b, baddr, 5, times=2)
        r = cairn("audit", "--node", a.url, "--node", b.url)
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        assert "ALARM: sources disagree at height 1" in out, out
        assert a.url in out and b.url in out, out
        _, ha = a.get("/v1/blocks/1")
        _, hb = b.get("/v1/blocks/1")
        assert ha["hash"] in out and hb["hash"] in out, out
        cp = os.path.join(a.tmp, "pair.checkpoint")
        r = watch(cp, a, b)
        assert r.returncode == 1 and "ALARM" in r.stdout, r.stdout + r.stderr
        # A copy of A's node agrees with A.
        a.stop()
        clone(a.home, twin)
        a.start()
        twin.start()
        r = cairn("--json", "audit", "--node", a.url, "--node", twin.url)
        assert r.returncode == 0, r.stdout + r.stderr
        body = json.loads(r.stdout)
        assert [s["blocks_verified"] for s in body["sources"]] == [a.height()] * 2


def test_watch_interval_stops_on_sigterm():
    with Node().init_demo().start() as a:
        _, addr = new_member(a, "me")
        issue(a, addr, 1)
        cp = os.path.join(a.tmp, "poll.checkpoint")
        p = subprocess.Popen([CAIRN, "audit", "--watch", "--interval", "1",
                              "--checkpoint", cp, "--node", a.url],
                             env=base_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while not os.path.exists(cp) and time.monotonic() < deadline:
                time.sleep(0.05)
            issue(a, addr, 1)  # seen by a later poll
            want = a.height()
            while time.monotonic() < deadline + 20:
                try:
                    if json.load(open(cp))["height"] == want:
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.05)
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
        assert p.returncode == 0, out + err
        assert out.count("audit OK") >= 2, out
        assert "stopped watching" in err, err
        assert json.load(open(cp))["height"] == a.height()
