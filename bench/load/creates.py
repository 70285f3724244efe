#!/usr/bin/env python3
"""Load benchmark: protected record creation against an unprotected insert of the same row,
in the same run, on the embedded SQLite store, with wrk.

    python3 bench/load/creates.py [--duration 20] [--connections 64] [--threads 2] [--rounds 2]

Protected: `POST /api/v1/collections/people/records` as the demo participant (subject =
herself, group = her first group, as in records.py): authentication, the access check, five
personal fields encrypted under her subject key, one keyed blind-index row (HMAC) for the
searchable field, the history row and the privacy-log entry. Baseline: `POST
/api/v1/bench/raw-records/{tenant}/people` (cargo feature `bench-endpoints`), the same JSON
body stored as plaintext with one index row (the value itself, unkeyed) and its history row,
and nothing else.

The collection has exactly five fields, all personal; one of them (`email`) is also
`searchable`, so each record costs five encryptions and one blind index. Every request sends
the same body (the records differ only by id). Every answer must be 201: a Lua `response`
hook counts any other status, and the script stops on one, naming the first status and body,
as it does on any wrk socket error (the timeout is raised to 30 s, so slow answers are
measured rather than dropped). Rounds alternate baseline and protected so that machine noise,
and the growing table, hit both alike. Prints one Markdown table row per run and the ratio
of the medians. If the raw endpoint answers 404 (a binary without it), says so and exits 2.

Builds the release binary with the feature, or runs `STRONGROOM_BENCH_BIN` (see demo.py).
Needs: wrk (Debian package `wrk`). Standard library only otherwise.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from demo import DemoServer

# Counts answers whose status is not the expected one and keeps the first (status and body);
# `done` prints both, for `wrk()` to parse. Appended to every script `wrk()` runs.
CHECK_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0; first = "" end
function response(status, headers, body)
  if status ~= EXPECT then
    unexpected = unexpected + 1
    if first == "" then first = status .. " " .. string.sub(body or "", 1, 400) end
  end
end
function done(summary, latency, requests)
  local n, f = 0, ""
  for _, t in ipairs(threads) do
    n = n + t:get("unexpected")
    if f == "" then f = t:get("first") end
  end
  io.write(string.format("unexpected statuses: %d\\n", n))
  if n > 0 then io.write("first unexpected: " .. string.gsub(f, "\\n", " ") .. "\\n") end
end
"""

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def lua_post(body, token=None, expect=201):
    """A wrk script sending the same POST with a JSON body every time."""
    text = json.dumps(body)
    assert "]]" not in text
    lines = ['wrk.method = "POST"', f"wrk.body = [[{text}]]",
             'wrk.headers["Content-Type"] = "application/json"']
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    return "\n".join(lines) + f"\nEXPECT = {expect}\n"


def wrk(url, *, connections, threads, duration, lua="EXPECT = 200\n", token=None,
        timeout=30, background=False):
    """Runs wrk (with `lua` plus CHECK_LUA as its script). Returns a dict of the figures, or
    with `background` the running process, for `wrk_result(proc)` to finish."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua + CHECK_LUA)
        script = f.name
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s",
           "--latency", "-s", script, url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.script, proc.url = script, url
    return proc if background else wrk_result(proc)


def wrk_result(proc):
    out, err = proc.communicate()
    os.unlink(proc.script)
    if proc.returncode != 0:
        raise SystemExit(f"wrk {proc.url} failed ({proc.returncode}):\n{out}{err}")

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")

    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    first = re.search(r"^first unexpected: (.*)$", out, re.M)
    return {
        "url": proc.url,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": latency(50), "p99": latency(99),
        "unexpected": int(re.search(r"unexpected statuses: (\d+)", out).group(1)),
        "first_unexpected": first.group(1) if first else None,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, sock.groups())) if sock else 0,
        "output": out,
    }


def check(r, what):
    """Stops the script on any unexpected status or socket error of a wrk run."""
    if r["requests"] == 0:
        raise SystemExit(f"{what}: wrk completed no request\n{r['output']}")
    if r["unexpected"] or r["non2xx"] or r["socket_errors"]:
        raise SystemExit(
            f"{what} ({r['url']}): {r['unexpected']} unexpected statuses "
            f"({r['non2xx']} non-2xx), {r['socket_errors']} socket errors; first: "
            f"{r['first_unexpected']}\n{r['output']}")
    return r


def post_raw(url, body):
    """(status, body text) of one POST, without stopping on an error status."""
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


FIELDS = [
    {"name": "email", "type": "string", "personal": True, "searchable": True},
    {"name": "name", "type": "string", "personal": True},
    {"name": "phone", "type": "string", "personal": True},
    {"name": "born", "type": "date", "personal": True},
    {"name": "notes", "type": "string", "personal": True},
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=20, help="seconds per run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    with DemoServer(features=["bench-endpoints"]) as srv:
        call, base = srv.call, srv.base
        admin, part = srv.login("admin"), srv.login("participant1")
        me = call("GET", "/api/v1/me", token=part)
        call("POST", "/api/v1/collections", {"name": "people", "fields": FIELDS}, token=admin)
        tenant = call("GET", "/api/v1/tenant", token=admin)["id"]
        body = {"subject_id": me["id"], "group_id": me["groups"][0]["id"], "data": {
            "email": "pia.participant@example.org", "name": "Pia Participant",
            "phone": "+31 6 1234 5678", "born": "1994-03-21",
            "notes": "prefers mornings; allergic to peanuts"}}
        protected = f"{base}/api/v1/collections/people/records"
        baseline = f"{base}/api/v1/bench/raw-records/{tenant}/people"

        status, text = post_raw(baseline, body)
        if status == 404 and "collection not found" not in text:
            print(f"POST {baseline} answered 404 {text}\nThis binary has no raw insert: build "
                  "it with the cargo feature bench-endpoints, after the route "
                  "POST /api/v1/bench/raw-records/{tenant}/{collection} exists.",
                  file=sys.stderr)
            return 2
        if status != 201:
            raise SystemExit(f"POST {baseline}: {status} {text}")
        raw_id = json.loads(text)["id"]
        rid = call("POST", "/api/v1/collections/people/records", body, token=part)["id"]
        # The protected row reads back decrypted and is ciphertext at rest; the raw one is not.
        got = call("GET", f"/api/v1/records/{rid}", token=part)
        assert got["data"] == body["data"], got
        stored = call("GET", f"/api/v1/bench/raw-records/{tenant}/{rid}")["data"]
        assert "Pia" not in stored and "peanuts" not in stored, stored
        stored = call("GET", f"/api/v1/bench/raw-records/{tenant}/{raw_id}")["data"]
        assert "peanuts" in stored, stored
        found = call("GET", "/api/v1/collections/people/records?email="
                     "pia.participant%40example.org&limit=1", token=part)
        assert [r["id"] for r in found] == [rid], found

        lua = {"baseline": lua_post(body), "protected": lua_post(body, part)}
        url = {"baseline": baseline, "protected": protected}
        check(wrk(protected, connections=8, threads=1, duration=2, lua=lua["protected"]),
              "warm-up")
        results = {"baseline": [], "protected": []}
        print(f"| run | endpoint | creates/s | p50 (ms) | p99 (ms) |  (c={args.connections}, "
              f"t={args.threads}, {args.duration} s)")
        print("|---|---|---|---|---|")
        for i in range(args.rounds):
            for name in ["baseline", "protected"]:
                r = check(wrk(url[name], connections=args.connections, threads=args.threads,
                              duration=args.duration, lua=lua[name]), name)
                results[name].append(r)
                print(f"| {i + 1} | {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} |",
                      flush=True)
        b = statistics.median(r["rps"] for r in results["baseline"])
        p = statistics.median(r["rps"] for r in results["protected"])
        p99 = statistics.median(r["p99"] for r in results["protected"])
        b99 = statistics.median(r["p99"] for r in results["baseline"])
        print(f"\nmedian protected {p:,.0f} creates/s, p99 {p99:.2f} ms; baseline {b:,.0f} "
              f"creates/s, p99 {b99:.2f} ms; ratio {p / b:.2f}")
        total = sum(r["requests"] for v in results.values() for r in v)
        print(f"{total:,} records created in the measured runs, every answer 201")


if __name__ == "__main__":
    sys.exit(main())
