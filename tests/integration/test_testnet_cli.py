"""`cairnd testnet`: the homes it creates, and every refusal (usage errors
exit 2, an existing network is never overwritten)."""
import json
import os
import subprocess
import tempfile

from harness import CAIRND, base_env


def run(*args):
    return subprocess.run([CAIRND, "testnet", *args], env=base_env(),
                          capture_output=True, text=True, timeout=60)


def test_testnet_layout_and_refusals():
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "net")
        r = run("--dir", d, "--validators", "3", "--base-port", "31500")
        assert r.returncode == 0, r.stderr
        with open(os.path.join(d, "genesis.json")) as f:
            g = json.load(f)
        assert [b["name"] for b in g["brands"]] == ["coffee", "pizza", "books"]
        assert len(g["validators"]) == 3
        assert all(v["operator"].startswith("cairn1") for v in g["validators"])
        for i in range(3):
            home = os.path.join(d, f"node{i}")
            with open(os.path.join(home, "config.json")) as f:
                c = json.load(f)
            assert c["listen"] == f"127.0.0.1:{31500 + i}"
            assert c["p2p_listen"] == f"127.0.0.1:{31510 + i}"
            assert len(c["peers"]) == 2
            assert f"127.0.0.1:{31510 + i}" not in [p["address"] for p in c["peers"]]
            assert os.stat(os.path.join(home, "validator.key")).st_mode & 0o077 == 0
        for k in ("coffee", "pizza", "books", "alice", "newbrand", "partner"):
            assert os.path.exists(os.path.join(d, "keys", f"{k}.key")), k
        # Never over an existing network.
        r = run("--dir", d)
        assert r.returncode == 1 and "already exists" in r.stderr, r.stderr
        # Usage errors.
        for args, words in ((["--validators", "2"], "--dir DIR is required"),
                            (["--dir", d + "2", "--validators", "9"], "from 1 to 8"),
                            (["--dir", d + "2", "--validators", "x"], "--validators"),
                            (["--dir", d + "2", "--base-port", "80"], "--base-port"),
                            (["--dir", d + "2", "--bogus", "1"], "unknown option")):
            r = run(*args)
            assert r.returncode == 2, (args, r.returncode, r.stderr)
            assert words in r.stderr, (args, r.stderr)
            assert not os.path.exists(d + "2"), args
