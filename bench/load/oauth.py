#!/usr/bin/env python3
"""Integration clients under load, same binary, same run: `POST /oauth/token` (client
credentials, HTTP Basic: parse, one tenant and one client read, a constant-time secret check,
one token written) against the protected `GET /api/v1/records/{id}` read with that client's
token (the same check, decryption and privacy-log entry as a person's read) and `GET /healthz`
(the server's floor), with wrk over kept-alive connections.

    python3 bench/load/oauth.py [--duration 15] [--connections 64] [--threads 2] [--rounds 2]

Starts `strongroom serve --demo` in a fresh data folder with the token endpoint's throttles
raised out of the way (`auth.token_requests_per_minute`, `auth.client_tokens_per_minute`:
by default one address may ask 120 times a minute), creates a collection, a record and a
client with `records:read:recordings`, then runs the three in alternating rounds so that
machine noise hits them alike. Prints one Markdown row per run and the ratios of the medians.

Needs: cargo, wrk (Debian package `wrk`). Standard library only otherwise.
"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import tempfile

from demo import DemoServer
from records import wrk

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic {basic}"
wrk.body = "grant_type=client_credentials"
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    unlimited = {"STRONGROOM_AUTH__TOKEN_REQUESTS_PER_MINUTE": "1000000000",
                 "STRONGROOM_AUTH__CLIENT_TOKENS_PER_MINUTE": "1000000000"}
    with DemoServer(env=unlimited) as srv:
        admin, part = srv.login("admin"), srv.login("participant1")
        me = srv.call("GET", "/api/v1/me", token=part)
        srv.call("POST", "/api/v1/collections", {"name": "recordings", "fields": [
            {"name": "title", "type": "string", "searchable": True},
            {"name": "notes", "type": "string", "personal": True}]}, token=admin)
        rec = srv.call("POST", "/api/v1/collections/recordings/records", {
            "subject_id": me["id"], "group_id": me["groups"][0]["id"],
            "data": {"title": "Interview practice", "notes": "nervous at the start"}},
            token=part)
        client = srv.call("POST", "/api/v1/clients", {
            "name": "Load bench", "scopes": ["records:read:recordings"]}, token=admin)
        basic = base64.b64encode(
            f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA.format(basic=basic))
            lua = f.name
        token = subprocess.run(
            ["curl", "-fsS", "-X", "POST", "-H", f"Authorization: Basic {basic}",
             "-d", "grant_type=client_credentials", f"{srv.base}/oauth/token"],
            check=True, capture_output=True, text=True).stdout
        access = json.loads(token)["access_token"]
        read = srv.call("GET", f"/api/v1/records/{rec['id']}", token=access)
        assert read["data"]["notes"] == "nervous at the start", read

        runs = {"token": [], "read": [], "healthz": []}
        print(f"| round | what | req/s | p99 ms |  (c={args.connections}, t={args.threads}, "
              f"{args.duration} s)")
        print("|---|---|---|---|")
        for r in range(args.rounds):
            for what, url, tok, extra in [
                ("token", f"{srv.base}/oauth/token", None, ["-s", lua]),
                ("read", f"{srv.base}/api/v1/records/{rec['id']}", access, []),
                ("healthz", f"{srv.base}/healthz", None, []),
            ]:
                rps, p99 = wrk(url, tok, args, extra)
                runs[what].append((rps, p99))
                print(f"| {r + 1} | {what} | {rps:,.0f} | {p99:.2f} |")
        os.unlink(lua)
        med = {k: statistics.median(x for x, _ in v) for k, v in runs.items()}
        print()
        print(f"POST /oauth/token: {med['token']:,.0f} tokens/s; "
              f"{med['token'] / med['read']:.2f}x the client's protected read "
              f"({med['read']:,.0f}/s), {med['token'] / med['healthz']:.2f}x GET /healthz "
              f"({med['healthz']:,.0f}/s)")


if __name__ == "__main__":
    main()
