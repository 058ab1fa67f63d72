"""Helpers for integration tests: start real cairnd nodes on free loopback
ports in temporary homes, run the real cairn wallet, talk to the HTTP API.

Nothing here imitates the binaries: every check goes through build/cairnd,
build/cairn or the node's HTTP API."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("CAIRN_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
CAIRND = os.path.join(BUILD, "cairnd")
CAIRN = os.path.join(BUILD, "cairn")
PASSPHRASE = "demo"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env():
    env = dict(os.environ)
    env["CAIRN_PASSPHRASE"] = PASSPHRASE
    env["CAIRN_KDF_FAST"] = "1"  # cheap Argon2 parameters for test key files
    env.pop("CAIRN_NODE", None)
    return env


class Node:
    """One cairnd process with its own home directory."""

    def __init__(self, home=None, block_interval_ms=100):
        self.tmp = tempfile.mkdtemp(prefix="cairn-it-")
        self.home = home or os.path.join(self.tmp, "home")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = os.path.join(self.tmp, "cairnd.log")
        self.block_interval_ms = block_interval_ms

    def init_demo(self):
        r = subprocess.run([CAIRND, "init", "--demo", "--home", self.home,
                            "--listen", f"127.0.0.1:{self.port}",
                            "--block-interval-ms", str(self.block_interval_ms)],
                           env=base_env(), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"cairnd init failed: {r.stdout}{r.stderr}"
        return self

    def key(self, name):
        return os.path.join(self.home, "keys", f"{name}.key")

    def start(self, wait=True):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([CAIRND, "run", "--home", self.home],
                                     env=base_env(), stdout=log, stderr=log)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"cairnd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = self.get("/v1/status")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"cairnd did not answer within {timeout}s:\n{self.log()}")

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("cairnd did not stop on signal")
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- HTTP API ---
    def request(self, method, path, body=None, raw=None, timeout=10):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, {"_raw": text.decode(errors="replace")}

    def get(self, path):
        return self.request("GET", path)

    def height(self):
        status, body = self.get("/v1/status")
        assert status == 200, body
        return body["height"]

    # --- wallet ---
    def cairn(self, *args, check=None, env_extra=None, timeout=60, stdin=None):
        env = base_env()
        if env_extra:
            env.update(env_extra)
        r = subprocess.run([CAIRN, "--node", self.url, *args], env=env,
                           capture_output=True, text=True, timeout=timeout,
                           stdin=stdin if stdin is not None else subprocess.DEVNULL)
        if check is not None:
            assert r.returncode == check, (
                f"cairn {' '.join(args)}: exit {r.returncode}, expected {check}\n"
                f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def cairn_json(self, *args, **kw):
        r = self.cairn("--json", *args, **kw)
        try:
            return r, json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"cairn --json {' '.join(args)} printed no JSON: "
                                 f"{r.stdout!r} {r.stderr!r}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


def new_member(node, name):
    path = os.path.join(node.tmp, f"{name}.key")
    node.cairn("keygen", "--out", path, check=0)
    r = node.cairn("address", "--key", path, check=0)
    addr = r.stdout.strip().split()[-1]
    assert addr.startswith("cairn1"), r.stdout
    return path, addr


def balance_of(node, addr, brand_name):
    status, body = node.get(f"/v1/accounts/{addr}")
    assert status == 200, body
    for b in body["balances"]:
        if b["name"] == brand_name:
            return int(b["amount"])
    return 0
