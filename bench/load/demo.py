"""Shared by the load scripts: build the release binary, run `strongroom serve --demo` in a
fresh folder on a free loopback port, and call its API as the demo users.

With `STRONGROOM_BENCH_BIN=/path/to/strongroom` set, nothing is built: that binary is run
instead (it must have been built with the features the script asks for)."""

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


def binary(features=()):
    """The strongroom binary: `STRONGROOM_BENCH_BIN` if set, else a fresh release build."""
    given = os.environ.get("STRONGROOM_BENCH_BIN")
    if given:
        if not os.access(given, os.X_OK):
            raise SystemExit(f"STRONGROOM_BENCH_BIN={given}: not an executable file")
        return given
    build = ["cargo", "build", "--release", "--bin", "strongroom"]
    if features:
        build += ["--features", ",".join(features)]
    subprocess.run(build, cwd=ROOT, check=True)
    return os.path.join(TARGET, "release", "strongroom")


def server_env(extra=None):
    """The server's environment. STRONGROOM_BENCH_BIN is this script's, not a configuration
    key: the server refuses unknown STRONGROOM_* variables, so it is left out."""
    env = {k: v for k, v in os.environ.items() if k != "STRONGROOM_BENCH_BIN"}
    return dict(env, STRONGROOM_LOG__LEVEL="warn", **(extra or {}))


class DemoServer:
    """`with DemoServer(features=[...], env={...}) as s:` — s.base, s.data, s.pid, s.login(who)."""

    def __init__(self, features=(), env=None):
        self.binary = binary(features)
        self.env = env
        self.data = tempfile.mkdtemp(prefix="strongroom-bench-")
        self.base, self.server = self._start()
        self.pid = self.server.pid
        self.others = []

    def _start(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [self.binary, "serve", "--demo",
             "--data-dir", self.data, "--listen", f"127.0.0.1:{port}"],
            env=server_env(self.env),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return f"http://127.0.0.1:{port}", server

    def second_instance(self):
        """Another server on the same data folder and database (with `STRONGROOM_DATABASE_URL`
        in `env`, two instances on one PostgreSQL database); its base URL. Stopped with this one."""
        base, server = self._start()
        for line in server.stdout:
            if "listening on" in line:
                break
        self.others.append(server)
        return base

    def __enter__(self):
        for line in self.server.stdout:
            if "listening on" in line:
                break
        with open(os.path.join(self.data, "demo-credentials.json")) as f:
            demo = next(t for t in json.load(f)["tenants"] if t["slug"] == "demo")
        self.users = {u["email"].split("@")[0]: u for u in demo["users"]}
        return self

    def __exit__(self, *exc):
        for server in [self.server, *self.others]:
            server.send_signal(signal.SIGTERM)
        for server in [self.server, *self.others]:
            server.wait(timeout=30)

    def wait(self):
        self.server.wait()

    def login(self, who):
        """An access token for a demo user (`admin`, `coach`, `participant1`, `participant2`)."""
        u = self.users[who]
        return call(self.base, "POST", "/api/v1/auth/login",
                    {"tenant": "demo", "email": u["email"], "password": u["password"]})["access_token"]

    def call(self, method, path, body=None, token=None):
        return call(self.base, method, path, body, token)


def fresh_postgres_database(admin_url):
    """Creates an empty database beside `admin_url`'s (e.g. postgres://postgres@127.0.0.1:5432/postgres)
    and returns its URL; needs `psql`."""
    name = "strongroom_bench_" + os.urandom(4).hex()
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    return admin_url.rsplit("/", 1)[0] + "/" + name
