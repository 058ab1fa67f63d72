"""Secrets stay secret, through the real binaries.

- `cairnd init` makes the home, the key directory and the data directory
  owner-only (0700) and every key file 0600;
- cairnd refuses to start on a validator key that group or others can
  read, and its log says which file and what to do;
- the validator seed and member passphrases never appear in the node's
  log, the banner, or any wallet output (text or --json)."""
import json
import os
import stat
import subprocess
import time

from harness import CAIRND, Node, base_env, new_member

PASSPHRASE = "Correct-Horse-Battery-Staple-91"  # distinctive: searched for


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def seed_of(node):
    with open(os.path.join(node.home, "validator.key")) as f:
        return json.load(f)["seed"]


def test_home_and_key_file_modes():
    with Node().init_demo().start() as node:
        assert mode(node.home) == 0o700, oct(mode(node.home))
        assert mode(os.path.join(node.home, "keys")) == 0o700
        assert mode(os.path.join(node.home, "validator.key")) == 0o600
        for name in os.listdir(os.path.join(node.home, "keys")):
            assert mode(os.path.join(node.home, "keys", name)) == 0o600, name
        assert mode(os.path.join(node.home, "data")) == 0o700
        me, _ = new_member(node, "me")
        assert mode(me) == 0o600


def test_node_refuses_readable_validator_key():
    with Node().init_demo() as node:
        key = os.path.join(node.home, "validator.key")
        for bad in (0o644, 0o640, 0o604):
            os.chmod(key, bad)
            node.start(wait=False)
            rc = node.proc.wait(timeout=20)
            node.proc = None
            assert rc != 0, f"cairnd started with a {oct(bad)} validator key"
            log = node.log()
            assert "readable by other users" in log and "chmod 600" in log, log
            assert key in log, log
        os.chmod(key, 0o600)
        node.start()
        assert node.height() == 0
        assert seed_of(node) not in node.log()


def test_secrets_never_printed():
    with Node().init_demo().start() as node:
        seed = seed_of(node)
        env = {"CAIRN_PASSPHRASE": PASSPHRASE}
        key = os.path.join(node.tmp, "secret.key")
        outputs = []
        for args in (("keygen", "--out", key), ("--json", "address", "--key", key),
                     ("address", "--key", key)):
            r = node.cairn(*args, env_extra=env, check=0)
            outputs += [r.stdout, r.stderr]
        addr = json.loads(outputs[2])["address"]
        r = node.cairn("issue", "--key", node.key("coffee"), "--brand", "coffee",
                       "--to", addr, "--amount", "5", check=0)
        outputs += [r.stdout, r.stderr]
        for extra in ((), ("--json",)):
            r = node.cairn(*extra, "redeem", "--key", key, "--brand", "coffee",
                           "--amount", "2", env_extra=env, check=0)
            outputs += [r.stdout, r.stderr]
        # A wrong passphrase: refused, and not echoed back either.
        r = node.cairn("redeem", "--key", key, "--brand", "coffee", "--amount", "1",
                       env_extra={"CAIRN_PASSPHRASE": PASSPHRASE + "-wrong"}, check=4)
        outputs += [r.stdout, r.stderr]
        assert node.stop() == 0
        outputs.append(node.log())
        for text in outputs:
            assert PASSPHRASE not in text, text
            assert seed not in text and seed.upper() not in text, text


def test_demo_banner_shows_no_seed():
    """`cairnd demo` prints paths, addresses and the validator's public key;
    never the seed."""
    with Node() as node:
        proc = subprocess.Popen([CAIRND, "demo", "--home", node.home, "--listen",
                                 f"127.0.0.1:{node.port}"],
                                env=base_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            node.proc = proc
            node.wait_ready()
            time.sleep(0.2)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
            node.proc = None
        seed = seed_of(node)
        assert "validator key" in out, out
        assert seed not in out, out
