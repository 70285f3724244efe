#!/usr/bin/env python3
"""Soak: ten minutes (by default) of mixed traffic against one server, one Markdown row per
interval, then `strongroom audit verify` on the same data folder.

    python3 bench/load/soak.py [--duration 600] [--interval 60] [--readers 4]
        [--rates read=200,create=20,update=20,upload=5,download=10,login=2,export=0.2]
        [--csv soak.csv] [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Starts `strongroom serve --demo` in a fresh data folder (SQLite; with `--postgres ADMIN_URL`,
on a fresh PostgreSQL database created beside ADMIN_URL's, as records.py does) with the
per-address login throttle raised out of the way (`STRONGROOM_AUTH__IP_ATTEMPTS_PER_MINUTE`,
`STRONGROOM_AUTH__IP_BURST`: every client here is 127.0.0.1), and runs, for the whole
duration, Python threads on kept-alive connections:

    read      the demo coach reads one record of the participant (GET /records/{id}),
              READERS threads
    create    the participant creates a record in her group (POST /collections/…/records)
    update    the participant changes one of the last 200 she created (PATCH /records/{id})
    upload    the participant replaces one of 16 files of one record (PUT …/files/{name},
              64 KiB, application/octet-stream)
    download  the coach downloads a fixed 64 KiB file of that record (bytes compared)
    login     POST /auth/login, the demo users of both tenants in turn (not participant2)
    export    the second participant exports her data (GET /me/export, a zip)

Each kind is paced at its rate (requests per second over all its threads; 0 = back to back).
The export is of the second participant, whose data grows only by her own exports' log
entries, so its size stays about the same and its latency is comparable over the run. Access
tokens are renewed by logging in again after 10 minutes (they live 15); the renewal is not
timed. Any answer other than the expected status (or with a wrong body), and any exception, is
an error: the first few are printed when they happen.

Every INTERVAL seconds one row: requests per kind in the interval, errors, p50 / p99 / max
latency of the reads, the server's resident memory (VmRSS; and RssAnon, its heap alone, since
VmRSS also counts the pages of the SQLite files it maps), its open file descriptors, and the
sizes of the SQLite database file and of its WAL (0 on PostgreSQL; a WAL that only grows is a
checkpoint that never catches up). With `--csv` the rows also go to that file. At the end,
`strongroom audit verify` runs twice on the data folder (it finds the key file and the
development passphrase there): while the server still runs (the load stopped) and after it
stopped. Exits 1 on any error, a failed verify, or a server that does not exit 0 on SIGTERM.

Builds the release binary, or runs `STRONGROOM_BENCH_BIN` (see demo.py). Standard library only.
"""

import argparse
import collections
import csv
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

from demo import DemoServer, fresh_postgres_database, server_env

UNTHROTTLED = {"STRONGROOM_AUTH__IP_ATTEMPTS_PER_MINUTE": "1000000000",
               "STRONGROOM_AUTH__IP_BURST": "1000000000"}
KINDS = ["read", "create", "update", "upload", "download", "login", "export"]
DEFAULT_RATES = "read=200,create=20,update=20,upload=5,download=10,login=2,export=0.2"
FILE_BYTES = 64 * 1024
TOKEN_MAX_AGE = 600  # seconds; access tokens live 900 by default
ERRORS_SHOWN = 10


class Failure(Exception):
    """An answer that is not the expected one."""


class Stats:
    """What the workers did in the current interval, and every error so far."""

    def __init__(self):
        self.lock = threading.Lock()
        self.errors_total = 0
        self.first_errors = []
        self.totals = collections.Counter()
        self._reset()

    def _reset(self):
        self.counts = collections.Counter()
        self.errors = 0
        self.read_ms = []

    def ok(self, kind, ms):
        with self.lock:
            self.counts[kind] += 1
            self.totals[kind] += 1
            if kind == "read":
                self.read_ms.append(ms)

    def fail(self, kind, what):
        with self.lock:
            self.errors += 1
            self.errors_total += 1
            shown = len(self.first_errors) < ERRORS_SHOWN
            if shown:
                self.first_errors.append(f"{kind}: {what}")
        if shown:
            print(f"ERROR {kind}: {what}", file=sys.stderr, flush=True)

    def take(self):
        with self.lock:
            out = (self.counts, self.errors, self.read_ms)
            self._reset()
        return out


class Client:
    """One kept-alive HTTP connection; `request` answers (status, headers, body bytes)."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        if r.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r.status, r.headers, data


class Session:
    """A demo user's access token on a client, renewed by logging in again when it ages."""

    def __init__(self, client, login_body):
        self.client, self.body = client, json.dumps(login_body)
        self.token, self.at = None, 0.0

    def headers(self):
        if self.token is None or time.monotonic() - self.at > TOKEN_MAX_AGE:
            status, _, data = self.client.request(
                "POST", "/api/v1/auth/login", self.body, {"content-type": "application/json"})
            if status != 200:
                raise Failure(f"renewing the token: POST /api/v1/auth/login {status} "
                              f"{data[:300]!r}")
            self.token, self.at = json.loads(data)["access_token"], time.monotonic()
        return {"authorization": f"Bearer {self.token}"}


def expect(status, want, data, what):
    if status != want:
        raise Failure(f"{what}: {status} (expected {want}) {data[:300]!r}")


def parse_rates(text):
    rates = dict.fromkeys(KINDS, 0.0)
    for item in filter(None, text.split(",")):
        kind, _, value = item.partition("=")
        if kind not in rates:
            raise SystemExit(f"--rates: unknown kind {kind!r}; the kinds are {', '.join(KINDS)}")
        rates[kind] = float(value)
    return rates


def proc_status(pid):
    """VmRSS, RssAnon and VmHWM of a process, in MiB (zeros once it has gone)."""
    out = dict.fromkeys(("VmRSS", "RssAnon", "VmHWM"), 0.0)
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in out:
                    out[key] = int(value.split()[0]) / 1024
    except FileNotFoundError:
        pass
    return out


def file_mib(path):
    return os.path.getsize(path) / (1024 * 1024) if os.path.exists(path) else 0.0


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def audit_verify(srv, env):
    """(exit status, output) of `strongroom audit verify` on the server's data folder (its key
    file and development passphrase are found there, as `serve` left them)."""
    env = server_env(env)
    env["STRONGROOM_LOG__LEVEL"] = "error"  # not the development-key warning every time
    r = subprocess.run([srv.binary, "--data-dir", srv.data, "audit", "verify"],
                       env=env, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=600, help="seconds of load")
    ap.add_argument("--interval", type=int, default=60, help="seconds per row")
    ap.add_argument("--readers", type=int, default=4, help="reader threads")
    ap.add_argument("--rates", default=DEFAULT_RATES,
                    help=f"requests/s per kind, 0 = back to back (default {DEFAULT_RATES})")
    ap.add_argument("--csv", help="also write the rows to this CSV file")
    ap.add_argument("--postgres", metavar="ADMIN_URL",
                    help="run on a fresh PostgreSQL database created beside this one")
    args = ap.parse_args()
    rates = parse_rates(DEFAULT_RATES + "," + args.rates)

    env = dict(UNTHROTTLED)
    if args.postgres:
        env["STRONGROOM_DATABASE_URL"] = fresh_postgres_database(args.postgres)
    with DemoServer(env=env) as srv:
        call = srv.call
        with open(os.path.join(srv.data, "demo-credentials.json")) as f:
            tenants = json.load(f)["tenants"]
        creds = {(t["slug"], u["email"].split("@")[0]):
                 {"tenant": t["slug"], "email": u["email"], "password": u["password"]}
                 for t in tenants for u in t["users"]}
        who = {name: creds[("demo", name)] for name in
               ["admin", "coach", "participant1", "participant2"]}
        flood = [c for k, c in creds.items() if k != ("demo", "participant2")]

        # Set-up: a collection, the record the coach reads, the record with the files, and
        # the second participant's own record and file (her export).
        admin, coach = srv.login("admin"), srv.login("coach")
        part, part2 = srv.login("participant1"), srv.login("participant2")
        me, me2 = (call("GET", "/api/v1/me", token=t) for t in (part, part2))
        group = me["groups"][0]["id"]
        call("POST", "/api/v1/collections", {"name": "recordings", "fields": [
            {"name": "title", "type": "string", "searchable": True},
            {"name": "notes", "type": "string", "personal": True},
            {"name": "day", "type": "date", "personal": True}]}, token=admin)

        def new_record(token, subject, title):
            return call("POST", "/api/v1/collections/recordings/records", {
                "subject_id": subject, "group_id": group,
                "data": {"title": title, "notes": "soak", "day": "2026-11-02"}},
                token=token)["id"]

        read_id = new_record(part, me["id"], "read me")
        files_id = new_record(part, me["id"], "files")
        own_id = new_record(part2, me2["id"], "mine")
        payload = os.urandom(FILE_BYTES)
        setup = Client(srv.base)
        for token, rec, name in [(part, files_id, "fixed.bin"), (part2, own_id, "mine.bin")]:
            status, _, data = setup.request(
                "PUT", f"/api/v1/records/{rec}/files/{name}", payload,
                {"authorization": f"Bearer {token}", "content-type": "application/octet-stream"})
            expect(status, 201, data, f"set-up upload {name}")

        stats, stop = Stats(), threading.Event()
        created = collections.deque(maxlen=200)

        json_type = {"content-type": "application/json"}

        def read(c, auth, n):
            status, _, data = c.request("GET", f"/api/v1/records/{read_id}", headers=auth)
            expect(status, 200, data, f"GET /api/v1/records/{read_id}")
            if json.loads(data)["data"].get("notes") != "soak":
                raise Failure(f"GET /api/v1/records/{read_id}: wrong data {data[:300]!r}")

        def create(c, auth, n):
            body = json.dumps({"subject_id": me["id"], "group_id": group, "data": {
                "title": f"soak {n}", "notes": f"created {n}", "day": "2026-11-03"}})
            status, _, data = c.request("POST", "/api/v1/collections/recordings/records", body,
                                        auth | json_type)
            expect(status, 201, data, "POST /api/v1/collections/recordings/records")
            created.append(json.loads(data)["id"])

        def update(c, auth, n):
            if not created:
                return False
            # One update thread: no two requests PATCH one record at once.
            rec = created[random.randrange(len(created))]
            body = json.dumps({"data": {"notes": f"updated {n}"}})
            status, _, data = c.request("PATCH", f"/api/v1/records/{rec}", body,
                                        auth | json_type)
            expect(status, 200, data, f"PATCH /api/v1/records/{rec}")

        def upload(c, auth, n):
            path = f"/api/v1/records/{files_id}/files/up{n % 16}.bin"
            status, _, data = c.request("PUT", path, payload,
                                        auth | {"content-type": "application/octet-stream"})
            expect(status, 201, data, f"PUT {path}")

        def download(c, auth, n):
            path = f"/api/v1/records/{files_id}/files/fixed.bin"
            status, _, data = c.request("GET", path, headers=auth)
            expect(status, 200, data, f"GET {path}")
            if data != payload:
                raise Failure(f"GET {path}: {len(data)} bytes, not the {FILE_BYTES} uploaded")

        def login(c, auth, n):
            body = json.dumps(flood[n % len(flood)])
            status, _, data = c.request("POST", "/api/v1/auth/login", body, json_type)
            expect(status, 200, data, "POST /api/v1/auth/login")

        def export(c, auth, n):
            status, headers, data = c.request("GET", "/api/v1/me/export", headers=auth)
            expect(status, 200, data, "GET /api/v1/me/export")
            if headers.get("content-type") != "application/zip" or not data.startswith(b"PK"):
                raise Failure(f"GET /api/v1/me/export: not a zip ({headers.get('content-type')},"
                              f" {data[:40]!r})")

        ops = {"read": (read, "coach"), "create": (create, "participant1"),
               "update": (update, "participant1"), "upload": (upload, "participant1"),
               "download": (download, "coach"), "login": (login, None),
               "export": (export, "participant2")}

        def worker(kind, rate):
            op, user = ops[kind]
            c = Client(srv.base)
            s = Session(c, who[user]) if user else None
            pause = 1 / rate if rate > 0 else 0.0
            next_at, n = time.monotonic(), random.randrange(1000)
            while not stop.is_set():
                if pause:
                    next_at += pause
                    wait = next_at - time.monotonic()
                    if wait > 0:
                        if stop.wait(wait):
                            break
                    elif wait < -1:  # behind: no burst to catch up
                        next_at = time.monotonic()
                n += 1
                try:
                    auth = s.headers() if s else {}  # a renewal is not part of the timing
                    t0 = time.monotonic()
                    done = op(c, auth, n)
                except Failure as e:
                    stats.fail(kind, str(e))
                except Exception as e:
                    stats.fail(kind, f"{type(e).__name__}: {e}")
                else:
                    if done is not False:
                        stats.ok(kind, (time.monotonic() - t0) * 1000)
                    elif not pause:
                        time.sleep(0.01)

        threads = []
        for kind in KINDS:
            count = args.readers if kind == "read" else 1
            for _ in range(count):
                threads.append(threading.Thread(target=worker, args=(kind, rates[kind] / count),
                                                daemon=True))
        columns = ["elapsed_s", *KINDS, "errors", "read_p50_ms", "read_p99_ms", "read_max_ms",
                   "rss_mib", "anon_mib", "fds", "db_mib", "wal_mib"]
        writer = None
        if args.csv:
            csv_file = open(args.csv, "w", newline="")
            writer = csv.writer(csv_file)
            writer.writerow(columns)
        print(f"soak: {args.duration} s, rows every {args.interval} s; rates/s "
              + ", ".join(f"{k} {'max' if v == 0 else f'{v:g}'}" for k, v in rates.items())
              + f"; {args.readers} reader threads; server pid {srv.pid}, data {srv.data}")
        print("| elapsed s | " + " | ".join(KINDS) + " | errors | read p50 ms | read p99 ms "
              "| read max ms | RSS MiB | anon MiB | fds | db MiB | WAL MiB |")
        print("|" + "---|" * (len(columns)))
        rss_seen = []
        db = os.path.join(srv.data, "strongroom.db")
        start = time.monotonic()
        for t in threads:
            t.start()
        end = start + args.duration
        tick = start
        while tick < end:
            tick = min(tick + args.interval, end)
            time.sleep(max(0.0, tick - time.monotonic()))
            if srv.server.poll() is not None:
                died = f"the server exited with status {srv.server.returncode}"
                if len(stats.first_errors) >= ERRORS_SHOWN:  # else fail() prints it
                    print(f"ERROR server: {died}", file=sys.stderr, flush=True)
                stats.fail("server", died)
                stop.set()
            counts, errors, read_ms = stats.take()
            mem = proc_status(srv.pid)
            rss_seen.append(mem["VmRSS"])
            fds = len(os.listdir(f"/proc/{srv.pid}/fd")) if srv.server.poll() is None else 0
            row = [round(tick - start), *(counts[k] for k in KINDS), errors,
                   round(percentile(read_ms, 50), 2), round(percentile(read_ms, 99), 2),
                   round(max(read_ms, default=float("nan")), 2), round(mem["VmRSS"], 1),
                   round(mem["RssAnon"], 1), fds,
                   round(file_mib(db), 1), round(file_mib(db + "-wal"), 1)]
            print("| " + " | ".join(str(v) for v in row) + " |", flush=True)
            if writer:
                writer.writerow(row)
                csv_file.flush()
            if stop.is_set():
                break
        stop.set()
        for t in threads:
            t.join(timeout=120)
        stuck = [t for t in threads if t.is_alive()]
        if stuck:
            stats.fail("soak", f"{len(stuck)} worker threads still waiting 120 s after the end")
        late = stats.take()
        if late[1]:
            print(f"{late[1]} errors after the last row", file=sys.stderr)
        if writer:
            csv_file.close()

        elapsed = time.monotonic() - start
        hwm = proc_status(srv.pid)["VmHWM"]
        print("\ntotals: " + ", ".join(
            f"{k} {stats.totals[k]:,} ({stats.totals[k] / elapsed:.1f}/s)" for k in KINDS))
        if rss_seen:
            print(f"server RSS: first row {rss_seen[0]:.1f} MiB, last {rss_seen[-1]:.1f} MiB, "
                  f"highest row {max(rss_seen):.1f} MiB; peak (VmHWM) {hwm:.1f} MiB")
        if len(rss_seen) >= 3:
            half = len(rss_seen) // 2
            print(f"RSS median, first half of the rows {statistics.median(rss_seen[:half]):.1f} "
                  f"MiB, second half {statistics.median(rss_seen[half:]):.1f} MiB")
        failed = False
        if srv.server.poll() is None:
            code, out = audit_verify(srv, env)
            print(f"audit verify, server running: exit {code}\n{out}")
            failed |= code != 0
    # The server has stopped (DemoServer's exit sends SIGTERM and waits for it).
    print(f"server stopped: exit {srv.server.returncode}")
    failed |= srv.server.returncode != 0
    code, out = audit_verify(srv, env)
    print(f"audit verify, server stopped: exit {code}\n{out}")
    failed |= code != 0
    print(f"errors: {stats.errors_total}")
    for e in stats.first_errors:
        print(f"  {e}")
    return 1 if failed or stats.errors_total else 0


if __name__ == "__main__":
    sys.exit(main())
