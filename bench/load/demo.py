"""Shared by the load scripts: build the release binary, run `strongroom serve --demo` in a
fresh folder on a free loopback port, and call its API as the demo users."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def call(base, method, path, body=None, token=None):
    """One JSON request; the answer's JSON (None if empty). An error status stops the script."""
    req = urllib.request.Request(base + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, data) as r:
            text = r.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path}: {e.code} {e.read().decode()}")


class DemoServer:
    """`with DemoServer(features=[...], env={...}) as s:` — s.base, s.data, s.pid, s.login(who)."""

    def __init__(self, features=(), env=None):
        build = ["cargo", "build", "--release", "--bin", "strongroom"]
        if features:
            build += ["--features", ",".join(features)]
        subprocess.run(build, cwd=ROOT, check=True)
        self.data = tempfile.mkdtemp(prefix="strongroom-bench-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.server = subprocess.Popen(
            [os.path.join(TARGET, "release", "strongroom"), "serve", "--demo",
             "--data-dir", self.data, "--listen", f"127.0.0.1:{port}"],
            env=dict(os.environ, STRONGROOM_LOG__LEVEL="warn", **(env or {})),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.pid = self.server.pid

    def __enter__(self):
        for line in self.server.stdout:
            if "listening on" in line:
                break
        with open(os.path.join(self.data, "demo-credentials.json")) as f:
            demo = next(t for t in json.load(f)["tenants"] if t["slug"] == "demo")
        self.users = {u["email"].split("@")[0]: u for u in demo["users"]}
        return self

    def __exit__(self, *exc):
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(timeout=30)

    def wait(self):
        self.server.wait()

    def login(self, who):
        """An access token for a demo user (`admin`, `coach`, `participant1`, `participant2`)."""
        u = self.users[who]
        return call(self.base, "POST", "/api/v1/auth/login",
                    {"tenant": "demo", "email": u["email"], "password": u["password"]})["access_token"]

    def call(self, method, path, body=None, token=None):
        return call(self.base, method, path, body, token)
