#!/usr/bin/env python3
"""Load benchmark: authorised + decrypted + logged `GET /api/v1/records/{id}` against the
unprotected primary-key read `GET /api/v1/bench/raw-records/{tenant}/{id}` (cargo feature
`bench-endpoints`), in the same run, on the embedded SQLite store, with wrk.

    python3 bench/load/records.py [--duration 20] [--connections 64] [--threads 2] [--rounds 2]
    python3 bench/load/records.py --postgres postgres://postgres@127.0.0.1:5432/postgres [--instances 2]

Builds the release binary with the feature, starts `strongroom serve --demo` in a fresh data
folder on a free loopback port, creates a collection and one record (two personal fields)
as the demo participant, and reads it as the demo coach (the training template's coach
policy decides; every answer waits for its privacy-log entry). Rounds alternate baseline and
protected so that machine noise hits both alike. Prints one Markdown table row per run and
the ratio of the medians.

With `--postgres ADMIN_URL` the server runs on a fresh PostgreSQL database created beside
ADMIN_URL's (needs `psql`); with `--instances 2` a second server joins it on the same database
and data folder (same key file), and each round runs one wrk per instance at the same time,
the connections split between them: req/s is their sum, p99 the larger of the two.

Needs: cargo, wrk (Debian package `wrk`). Standard library only otherwise.
"""

import argparse
import re
import statistics
import subprocess
import sys

from demo import DemoServer, fresh_postgres_database


def wrk_cmd(url, token, args, extra=()):
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", *extra, url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    return cmd


def wrk(url, token, args, extra=()):
    out = subprocess.run(wrk_cmd(url, token, args, extra), check=True, capture_output=True,
                         text=True).stdout
    return parse_wrk(url, out)


def wrk_many(urls, token, args):
    """One wrk per URL at the same time, the connections split: (sum of req/s, largest p99)."""
    if len(urls) == 1:
        return wrk(urls[0], token, args)
    share = argparse.Namespace(**vars(args))
    share.connections = args.connections // len(urls)
    share.threads = max(1, args.threads // len(urls))
    procs = [subprocess.Popen(wrk_cmd(u, token, share), stdout=subprocess.PIPE, text=True)
             for u in urls]
    results = [parse_wrk(u, p.communicate()[0]) for u, p in zip(urls, procs)]
    return sum(r for r, _ in results), max(l for _, l in results)


def parse_wrk(url, out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx answers\n{out}")
    return rps, float(p99.group(1)) * scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--postgres", metavar="ADMIN_URL",
                    help="run on a fresh PostgreSQL database created beside this one")
    ap.add_argument("--instances", type=int, default=1, choices=[1, 2])
    ap.add_argument("--hold", action="store_true",
                    help="after set-up, print the URLs and token and keep serving (for profiling)")
    args = ap.parse_args()

    env = {}
    if args.postgres:
        env["STRONGROOM_DATABASE_URL"] = fresh_postgres_database(args.postgres)
    with DemoServer(features=["bench-endpoints"], env=env) as srv:
        call, base = srv.call, srv.base
        admin, coach, part = srv.login("admin"), srv.login("coach"), srv.login("participant1")
        me = call("GET", "/api/v1/me", token=part)
        call("POST", "/api/v1/collections", {"name": "recordings", "fields": [
            {"name": "title", "type": "string", "searchable": True},
            {"name": "notes", "type": "string", "personal": True},
            {"name": "day", "type": "date", "personal": True}]}, token=admin)
        # The participant's group: the coach reads through it.
        group = me["groups"][0]["id"]
        rec = call("POST", "/api/v1/collections/recordings/records", {
            "subject_id": me["id"], "group_id": group,
            "data": {"title": "Interview practice", "notes": "nervous at the start",
                     "day": "2026-11-02"}}, token=part)
        rid = rec["id"]
        check = call("GET", f"/api/v1/records/{rid}", token=coach)
        assert check["data"]["notes"] == "nervous at the start", check
        # The bench endpoint names the tenant explicitly (it has no token to take it from).
        t = call("GET", "/api/v1/tenant", token=admin)
        tenant = t["id"]
        raw = call("GET", f"/api/v1/bench/raw-records/{tenant}/{rid}")
        assert raw["id"] == rid, raw

        bases = [base] + [srv.second_instance() for _ in range(args.instances - 1)]
        protected = [f"{b}/api/v1/records/{rid}" for b in bases]
        baseline = [f"{b}/api/v1/bench/raw-records/{tenant}/{rid}" for b in bases]
        if args.hold:
            print(f"PID={srv.pid}\nTOKEN={coach}\nPROTECTED={protected[0]}\nBASELINE={baseline[0]}",
                  flush=True)
            srv.wait()
            return
        for url in protected:  # warm-up (and the second instance answers too)
            wrk(url, coach, argparse.Namespace(threads=1, connections=8, duration=2))
        results = {"baseline": [], "protected": []}
        print(f"| run | endpoint | req/s | p99 (ms) |")
        print(f"|---|---|---|---|")
        for i in range(args.rounds):
            for name, url, token in [("baseline", baseline, None), ("protected", protected, coach)]:
                rps, p99 = wrk_many(url, token, args)
                results[name].append((rps, p99))
                print(f"| {i + 1} | {name} | {rps:,.0f} | {p99:.2f} |", flush=True)
        b = statistics.median(r for r, _ in results["baseline"])
        p = statistics.median(r for r, _ in results["protected"])
        p99 = statistics.median(l for _, l in results["protected"])
        print(f"\nmedian protected {p:,.0f} req/s, p99 {p99:.2f} ms; baseline {b:,.0f} req/s; "
              f"ratio {p / b:.2f}")
        log = call("GET", f"/api/v1/privacy-log?subject_id={me['id']}&limit=1", token=admin)
        print(f"privacy log: newest entry seq {log[0]['seq']} ({log[0]['action']} by {log[0]['via']})")


if __name__ == "__main__":
    sys.exit(main())
