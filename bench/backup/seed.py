#!/usr/bin/env python3
"""Helper of compare.sh: fills a `strongroom serve --demo` installation through the HTTP API,
changes it, and measures file replication lag. Python 3 standard library only.

    seed.py port                                  a free loopback port
    seed.py health --base URL [--timeout S]       wait until GET /healthz answers 200
    seed.py seed   --base URL --data DIR --state FILE --records N --files-mib M --file-mib F
    seed.py change --base URL --data DIR --state FILE --pct P --files-mib M --file-mib F
    seed.py lag    --base URL --data DIR --state FILE --replica DIR [--repeat 5] [--out FILE]
    seed.py check  --base URL --data DIR --state FILE [--pct P]   (after a restore; DIR holds
                                                   demo-credentials.json)

As the demo administrator it creates the collection `people` (four personal string fields, one
of them searchable, and one plain field); the records are created by the two demo participants,
each about themselves in their own group — as the README tour does: the training template lets
a participant create records, not the administrator. Files are random bytes (incompressible),
uploaded by the record's participant with PUT /api/v1/records/{id}/files/{name}.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import random
import socket
import statistics
import sys
import threading
import time
import urllib.parse

MIB = 1024 * 1024
COLLECTION = "people"
FIELDS = [
    {"name": "name", "type": "string", "personal": True},
    {"name": "email", "type": "string", "personal": True, "searchable": True},
    {"name": "phone", "type": "string", "personal": True},
    {"name": "notes", "type": "string", "personal": True},
    {"name": "city", "type": "string"},
]
FIRST = ["Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Greta", "Hugo", "Ilse", "Jonas",
         "Kim", "Lars", "Mila", "Noah", "Olga", "Piet", "Quinn", "Rosa", "Sem", "Tess"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos",
        "Peters", "Hendriks", "Dekker", "Brouwer", "Koster", "Prins", "Huisman"]
CITIES = ["Amsterdam", "Utrecht", "Gent", "Köln", "Lyon", "Porto", "Graz", "Aarhus"]
WORDS = ("calm focused nervous pitch interview feedback posture voice pace pause eye contact "
         "structure opening closing story question answer practice week goal progress").split()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Api:
    """Keep-alive JSON/bytes client, one connection per thread, one token per demo user,
    re-login on 401 (once per expired token, not once per thread), waits on 429."""

    def __init__(self, base, data_dir):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        with open(os.path.join(data_dir, "demo-credentials.json")) as f:
            demo = next(t for t in json.load(f)["tenants"] if t["slug"] == "demo")
        self.users = demo["users"]  # 0 administrator, 1 coach, 2 and 3 participants
        self.tokens = {}
        self.lock = threading.Lock()
        self.local = threading.local()

    def conn(self, fresh=False):
        c = getattr(self.local, "conn", None)
        if c is None or fresh:
            if c is not None:
                c.close()
            c = http.client.HTTPConnection(self.host, self.port, timeout=600)
            self.local.conn = c
        return c

    def raw(self, method, path, body=None, headers=None):
        """(status, headers, bytes); reconnects once if the kept-alive connection was closed."""
        for attempt in range(3):
            c = self.conn(fresh=attempt > 0)
            try:
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                return r.status, r, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                if attempt == 2:
                    raise

    def login(self, who, stale=None):
        with self.lock:
            if who in self.tokens and self.tokens[who] != stale:
                return self.tokens[who]
            u = self.users[who]
            while True:
                st, r, b = self.raw("POST", "/api/v1/auth/login", json.dumps(
                    {"tenant": "demo", "email": u["email"], "password": u["password"]}),
                    {"content-type": "application/json"})
                if st == 429:
                    time.sleep(float(r.getheader("retry-after") or 3))
                    continue
                if st != 200:
                    raise SystemExit(f"login {u['email']}: {st} {b[:300]!r}")
                self.tokens[who] = json.loads(b)["access_token"]
                return self.tokens[who]

    def call(self, who, method, path, body=None, content_type="application/json", ok=(200, 201, 204)):
        """An authenticated request as demo user `who`; JSON answer (or None)."""
        if body is not None and content_type == "application/json":
            body = json.dumps(body)
        for attempt in range(20):
            token = self.login(who) if who not in self.tokens else self.tokens[who]
            headers = {"authorization": "Bearer " + token}
            if body is not None:
                headers["content-type"] = content_type
            st, r, b = self.raw(method, path, body, headers)
            if st in ok:
                return json.loads(b) if b else None
            if st == 401:
                self.login(who, stale=token)
                continue
            if st in (429, 503) or (st == 409 and method == "PATCH"):
                time.sleep(float(r.getheader("retry-after") or 0.5))
                continue
            raise SystemExit(f"{method} {path}: {st} {b[:500]!r}")
        raise SystemExit(f"{method} {path}: gave up after 20 attempts")


def person(rng, i):
    f, l = rng.choice(FIRST), rng.choice(LAST)
    return {
        "name": f"{f} {l}",
        "email": f"{f.lower()}.{l.lower().replace(' ', '')}.{i}@example.org",
        "phone": f"+31 6 {rng.randrange(10**8):08d}",
        "notes": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 30))),
        "city": rng.choice(CITIES),
    }


def parallel(fn, items, workers, what):
    """Runs fn over items with a thread pool; progress on stderr every ~10 %."""
    items = list(items)
    out, done, t0 = [None] * len(items), 0, time.monotonic()
    step = max(1, -(-len(items) // 10))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futs = {pool.submit(fn, it): k for k, it in enumerate(items)}
        for fut in concurrent.futures.as_completed(futs):
            out[futs[fut]] = fut.result()
            done += 1
            if done % step == 0 or done == len(items):
                dt = time.monotonic() - t0
                log(f"  {what}: {done}/{len(items)} in {dt:.1f} s ({done / max(dt, 1e-9):.0f}/s)")
    return out


def participants(api):
    """[(user index, subject id, group id)] of the two demo participants."""
    out = []
    for who in (2, 3):
        me = api.call(who, "GET", "/api/v1/me")
        out.append((who, me["id"], me["groups"][0]["id"]))
    return out


def file_sizes(total_mib, file_mib):
    """Sizes in bytes: total_mib (may be fractional) split into file_mib pieces, the last smaller."""
    total, each = int(total_mib * MIB), int(file_mib * MIB)
    sizes = [each] * (total // each)
    if total % each:
        sizes.append(total % each)
    return sizes or [each]


def upload_files(api, records, sizes, prefix, workers):
    """Spreads len(sizes) files evenly over records; returns the bytes sent."""
    n = len(records)

    def up(job):
        k, size = job
        rid, who = records[(k * n) // len(sizes)]
        api.call(who, "PUT", f"/api/v1/records/{rid}/files/{prefix}-{k:05d}.bin",
                 os.urandom(size), content_type="application/octet-stream")
        return size

    return sum(parallel(up, list(enumerate(sizes)), workers, f"files ({prefix})"))


def cmd_seed(a):
    api = Api(a.base, a.data)
    t0 = time.monotonic()
    api.call(0, "POST", "/api/v1/collections", {"name": COLLECTION, "fields": FIELDS})
    parts = participants(api)

    def create(i):
        rng = random.Random(i)
        who, subject, group = parts[i % len(parts)]
        r = api.call(who, "POST", f"/api/v1/collections/{COLLECTION}/records",
                     {"subject_id": subject, "group_id": group, "data": person(rng, i)})
        return [r["id"], who]

    records = parallel(create, range(a.records), a.concurrency, "records")
    t1 = time.monotonic()
    sizes = file_sizes(a.files_mib, a.file_mib)
    sent = upload_files(api, records, sizes, "seed", a.upload_concurrency)
    t2 = time.monotonic()
    with open(a.state, "w") as f:
        json.dump({"records": records, "files": len(sizes), "file_bytes": sent}, f)
    print(json.dumps({"records": len(records), "records_seconds": round(t1 - t0, 1),
                      "files": len(sizes), "file_bytes": sent,
                      "files_seconds": round(t2 - t1, 1)}))


def cmd_change(a):
    api = Api(a.base, a.data)
    with open(a.state) as f:
        state = json.load(f)
    records = state["records"]
    rng = random.Random(12345)
    sizes = file_sizes(a.files_mib * a.pct / 100, a.file_mib)
    sent = upload_files(api, records, sizes, "change", a.upload_concurrency)
    n = max(1, round(len(records) * a.pct / 100))
    picked = rng.sample(records, n)

    def patch(rec):
        rid, who = rec
        r = random.Random(rid)
        api.call(who, "PATCH", f"/api/v1/records/{rid}", {"data": {
            "notes": " ".join(r.choice(WORDS) for _ in range(20)) + " (updated)",
            "city": r.choice(CITIES)}})

    parallel(patch, picked, a.concurrency, "record updates")
    state["files"] += len(sizes)
    state["file_bytes"] += sent
    with open(a.state, "w") as f:
        json.dump(state, f)
    print(json.dumps({"new_files": len(sizes), "new_file_bytes": sent, "updated_records": n}))


def blob_files(root):
    """{relative path: size} of every file under root."""
    out = {}
    for d, _, names in os.walk(root):
        for name in names:
            p = os.path.join(d, name)
            try:
                out[os.path.relpath(p, root)] = os.path.getsize(p)
            except FileNotFoundError:
                pass
    return out


def cmd_lag(a):
    """Upload a 1 MiB file; time from the upload's answer until the replica holds the blob
    (same key, same size), polling every 20 ms, at most 30 s."""
    api = Api(a.base, a.data)
    with open(a.state) as f:
        rid, who = json.load(f)["records"][0]
    blobs = os.path.join(a.data, "blobs")
    lags = []
    for k in range(a.repeat):
        before = blob_files(blobs)
        api.call(who, "PUT", f"/api/v1/records/{rid}/files/lag-{int(time.time())}-{k}.bin",
                 os.urandom(MIB), content_type="application/octet-stream")
        t0 = time.monotonic()
        new = {p: s for p, s in blob_files(blobs).items() if before.get(p) != s}
        if len(new) != 1:
            raise SystemExit(f"expected one new blob after the upload, found {len(new)}: {list(new)[:5]}")
        (key, size), = new.items()
        target = os.path.join(a.replica, key)
        lag = None
        while time.monotonic() - t0 < 30:
            try:
                if os.path.getsize(target) == size:
                    lag = time.monotonic() - t0
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        log(f"  replication {k + 1}/{a.repeat}: " + (f"{lag:.3f} s" if lag is not None else "not within 30 s"))
        lags.append(lag)
        time.sleep(0.5)
    got = [x for x in lags if x is not None]
    res = {"lags": lags, "replicated": len(got), "of": len(lags),
           "median": statistics.median(got) if got else None, "max": max(got) if got else None}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f)
    print(json.dumps(res))


def cmd_check(a):
    """After a restore: the first and last seeded records read back, one of the records
    updated by `change` carries its update, and its file list is there."""
    api = Api(a.base, a.data)
    with open(a.state) as f:
        state = json.load(f)
    records = state["records"]
    for rid, who in (records[0], records[-1]):
        r = api.call(who, "GET", f"/api/v1/records/{rid}")
        assert r["id"] == rid and r["data"].get("email"), r
    rid, who = random.Random(12345).sample(records, max(1, round(len(records) * a.pct / 100)))[0]
    r = api.call(who, "GET", f"/api/v1/records/{rid}")
    if not r["data"]["notes"].endswith("(updated)"):
        raise SystemExit(f"record {rid} lacks the incremental change: {r['data']}")
    print(json.dumps({"ok": True, "checked": 3}))


def cmd_health(a):
    u = urllib.parse.urlsplit(a.base)
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.timeout:
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return 0
        except OSError:
            pass
        time.sleep(0.01)
    return 1


def cmd_port(_):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("port")
    h = sub.add_parser("health")
    h.add_argument("--base", required=True)
    h.add_argument("--timeout", type=float, default=120)
    for name in ("seed", "change", "lag", "check"):
        p = sub.add_parser(name)
        p.add_argument("--base", required=True)
        p.add_argument("--data", required=True)
        p.add_argument("--state", required=True)
        p.add_argument("--concurrency", type=int, default=16)
        p.add_argument("--upload-concurrency", type=int, default=4)
        if name == "seed":
            p.add_argument("--records", type=int, required=True)
        if name in ("seed", "change"):
            p.add_argument("--files-mib", type=float, required=True)
            p.add_argument("--file-mib", type=float, required=True)
        if name in ("change", "check"):
            p.add_argument("--pct", type=float, default=1.0)
        if name == "lag":
            p.add_argument("--replica", required=True)
            p.add_argument("--repeat", type=int, default=5)
            p.add_argument("--out")
    a = ap.parse_args()
    return {"port": cmd_port, "health": cmd_health, "seed": cmd_seed, "change": cmd_change,
            "lag": cmd_lag, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
