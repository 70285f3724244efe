#!/usr/bin/env python3
"""TLS against plain HTTP, same binary, same data, same run: the protected
`GET /api/v1/records/{id}` over kept-alive connections (the steady state of a client), and new
connections per second (`Connection: close` on `/healthz`: one TCP and, over TLS, one TLS 1.3
handshake per request), with wrk.

    python3 bench/load/tls.py [--duration 15] [--connections 64] [--threads 2] [--rounds 2]

Starts `strongroom serve --demo` in a fresh data folder (plain HTTP), creates one record as
the demo participant, then a second instance on the same data folder with TLS
(`tls.self_signed`: an ECDSA P-256 certificate from rcgen; TLS 1.3, the default), and runs
wrk against both in alternating rounds so that machine noise hits both alike. Prints one
Markdown row per run and the ratios of the medians.

Needs: cargo, wrk (Debian package `wrk`, built with OpenSSL: TLS 1.3). Standard library only
otherwise.
"""

import argparse
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import urllib.request

from demo import TARGET, DemoServer, call
from records import wrk


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    with DemoServer() as srv:
        admin, coach, part = srv.login("admin"), srv.login("coach"), srv.login("participant1")
        me = srv.call("GET", "/api/v1/me", token=part)
        srv.call("POST", "/api/v1/collections", {"name": "recordings", "fields": [
            {"name": "title", "type": "string", "searchable": True},
            {"name": "notes", "type": "string", "personal": True}]}, token=admin)
        rec = srv.call("POST", "/api/v1/collections/recordings/records", {
            "subject_id": me["id"], "group_id": me["groups"][0]["id"],
            "data": {"title": "Interview practice", "notes": "nervous at the start"}},
            token=part)
        rid = rec["id"]

        port = free_port()
        tls = subprocess.Popen(
            [os.path.join(TARGET, "release", "strongroom"), "serve",
             "--data-dir", srv.data, "--listen", f"127.0.0.1:{port}"],
            env=dict(os.environ, STRONGROOM_LOG__LEVEL="warn", STRONGROOM_TLS__SELF_SIGNED="true"),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for line in tls.stdout:
                if "listening on https://" in line:
                    break
            secure = f"https://127.0.0.1:{port}"
            ctx = ssl.create_default_context(cafile=os.path.join(srv.data, "tls", "self-signed.crt"))
            with urllib.request.urlopen(urllib.request.Request(
                    f"{secure}/api/v1/records/{rid}",
                    headers={"authorization": "Bearer " + coach}), context=ctx) as r:
                assert r.status == 200 and r.headers["strict-transport-security"], r.headers
            with socket.create_connection(("127.0.0.1", port)) as raw, \
                    ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                version = f"{s.version()}, {s.cipher()[0]}"
            runs = [
                ("records, keep-alive", "plain", f"{srv.base}/api/v1/records/{rid}", coach, []),
                ("records, keep-alive", "TLS", f"{secure}/api/v1/records/{rid}", coach, []),
                ("new connection each", "plain", f"{srv.base}/healthz", None, ["-H", "Connection: close"]),
                ("new connection each", "TLS", f"{secure}/healthz", None, ["-H", "Connection: close"]),
            ]
            wrk(runs[1][2], coach, argparse.Namespace(threads=1, connections=8, duration=2))
            results = {(w, k): [] for w, k, *_ in runs}
            print("| run | what | transport | req/s | p99 (ms) |")
            print("|---|---|---|---|---|")
            for i in range(args.rounds):
                for what, kind, url, token, extra in runs:
                    rps, p99 = wrk(url, token, args, extra)
                    results[(what, kind)].append((rps, p99))
                    print(f"| {i + 1} | {what} | {kind} | {rps:,.0f} | {p99:.2f} |", flush=True)
            med = {k: statistics.median(r for r, _ in v) for k, v in results.items()}
            keep = med[("records, keep-alive", "TLS")] / med[("records, keep-alive", "plain")]
            new_plain = med[("new connection each", "plain")]
            new_tls = med[("new connection each", "TLS")]
            # The machine's two cores serve both wrk and the server: per-request CPU time is
            # about cores / rate; the handshake's share is the difference.
            cost_ms = (2 / new_tls - 2 / new_plain) * 1000
            print(f"\nkeep-alive: TLS {med[('records, keep-alive', 'TLS')]:,.0f} req/s, plain "
                  f"{med[('records, keep-alive', 'plain')]:,.0f}; ratio {keep:.2f}")
            print(f"new connections: TLS {new_tls:,.0f}/s, plain {new_plain:,.0f}/s; ratio "
                  f"{new_tls / new_plain:.2f}; ≈ {cost_ms:.2f} ms of the two cores per TLS "
                  f"handshake (wrk's included) — {version}")
        finally:
            tls.send_signal(signal.SIGTERM)
            tls.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
