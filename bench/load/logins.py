#!/usr/bin/env python3
"""Read latency during a login flood: the protected `GET /api/v1/records/{id}` with wrk, idle
and while 100 clients log in concurrently and continuously, on the embedded SQLite store.

    python3 bench/load/logins.py [--duration 20] [--rounds 2] [--connections 16] [--clients 100]

Starts `strongroom serve --demo` in a fresh data folder with the per-address login throttle
raised out of the way (`STRONGROOM_AUTH__IP_ATTEMPTS_PER_MINUTE` and `STRONGROOM_AUTH__IP_BURST`
= 1e9: by default one address may try 20 logins a minute after a burst of 20, and every client
here is 127.0.0.1). The per-account lockout stays as it is: every login uses the right
password, so it never counts. Sets up the read as records.py does (a collection, one record
of the demo participant, read as the demo coach through the group).

Idle: wrk on the read (CONNECTIONS connections) for DURATION seconds. Flood: a second wrk with
CLIENTS connections posting `/api/v1/auth/login` (the eight demo users of both tenants in
turn, several clients per user) starts LEAD seconds before the reader and ends LEAD seconds
after it, so it runs for the whole reading window. Every login must answer 200 and every read
200, with no wrk socket error (timeouts are 30 s, so slow answers are measured rather than
dropped); the script stops on the first failure, naming its status and body. Rounds
alternate idle and flood. Prints one Markdown row per run, then the median idle and flood
p99, their ratio (goal: at most 2) and the logins per second the flood achieved.

Builds the release binary, or runs `STRONGROOM_BENCH_BIN` (see demo.py).
Needs: wrk (Debian package `wrk`). Standard library only otherwise.
"""

import argparse
import json
import os
import statistics
import sys
import time

from creates import check, wrk, wrk_result
from demo import DemoServer

UNTHROTTLED = {"STRONGROOM_AUTH__IP_ATTEMPTS_PER_MINUTE": "1000000000",
               "STRONGROOM_AUTH__IP_BURST": "1000000000"}


def login_lua(bodies):
    """A wrk script posting the login bodies in turn (each wrk thread starts at its own one)."""
    items = ",\n".join(f"  [[{json.dumps(b)}]]" for b in bodies)
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {{
{items}
}}
local n = math.random(#bodies)
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
EXPECT = 200
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=20, help="seconds of reading per run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16, help="reader connections")
    ap.add_argument("--threads", type=int, default=2, help="reader wrk threads")
    ap.add_argument("--clients", type=int, default=100, help="concurrent login clients")
    ap.add_argument("--lead", type=int, default=2,
                    help="seconds the flood runs before and after the reading window")
    args = ap.parse_args()

    with DemoServer(env=UNTHROTTLED) as srv:
        call = srv.call
        admin, coach, part = srv.login("admin"), srv.login("coach"), srv.login("participant1")
        me = call("GET", "/api/v1/me", token=part)
        call("POST", "/api/v1/collections", {"name": "recordings", "fields": [
            {"name": "title", "type": "string", "searchable": True},
            {"name": "notes", "type": "string", "personal": True},
            {"name": "day", "type": "date", "personal": True}]}, token=admin)
        rid = call("POST", "/api/v1/collections/recordings/records", {
            "subject_id": me["id"], "group_id": me["groups"][0]["id"],
            "data": {"title": "Interview practice", "notes": "nervous at the start",
                     "day": "2026-11-02"}}, token=part)["id"]
        check_read = call("GET", f"/api/v1/records/{rid}", token=coach)
        assert check_read["data"]["notes"] == "nervous at the start", check_read

        with open(os.path.join(srv.data, "demo-credentials.json")) as f:
            tenants = json.load(f)["tenants"]
        bodies = [{"tenant": t["slug"], "email": u["email"], "password": u["password"]}
                  for t in tenants for u in t["users"]]
        for b in bodies:  # every one works before the flood
            call("POST", "/api/v1/auth/login", b)

        read_url = f"{srv.base}/api/v1/records/{rid}"
        login_url = f"{srv.base}/api/v1/auth/login"
        flood_lua = login_lua(bodies)

        def read():
            return check(wrk(read_url, connections=args.connections, threads=args.threads,
                             duration=args.duration, token=coach), "read")

        check(wrk(read_url, connections=4, threads=1, duration=2, token=coach), "warm-up")
        runs = {"idle": [], "flood": []}
        print(f"| round | phase | reads/s | read p50 ms | read p99 ms | logins/s | login p99 ms |"
              f"  (reader c={args.connections}, {args.duration} s; flood c={args.clients})")
        print("|---|---|---|---|---|---|---|")
        for i in range(args.rounds):
            r = read()
            runs["idle"].append((r, None))
            print(f"| {i + 1} | idle | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | – | – |",
                  flush=True)

            flood = wrk(login_url, connections=args.clients, threads=2,
                        duration=args.duration + 2 * args.lead, lua=flood_lua, background=True)
            time.sleep(args.lead)
            if flood.poll() is not None:
                check(wrk_result(flood), "login flood")
                raise SystemExit("the login flood ended before the reading window")
            r = read()
            still_running = flood.poll() is None
            f = check(wrk_result(flood), "login flood")
            if not still_running:
                raise SystemExit("the login flood ended before the reading window did")
            runs["flood"].append((r, f))
            print(f"| {i + 1} | flood | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                  f"{f['rps']:,.1f} | {f['p99']:.0f} |", flush=True)

        idle = statistics.median(r["p99"] for r, _ in runs["idle"])
        busy = statistics.median(r["p99"] for r, _ in runs["flood"])
        logins = statistics.median(f["rps"] for _, f in runs["flood"])
        total = sum(f["requests"] for _, f in runs["flood"])
        print(f"\nread p99: idle {idle:.2f} ms, during the flood {busy:.2f} ms; ratio "
              f"{busy / idle:.2f} (goal <= 2)")
        print(f"flood: {logins:,.1f} logins/s (median), {total:,} logins, every one 200")


if __name__ == "__main__":
    sys.exit(main())
