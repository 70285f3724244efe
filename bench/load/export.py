#!/usr/bin/env python3
"""Export throughput: a subject with 1 GiB of files, exported as a zip with `GET /me/export`.

    python3 bench/load/export.py [--files 8] [--mib 128]

Builds the release binary, starts `strongroom serve --demo` (SQLite, local blob folder) in a
fresh folder, uploads FILES files of MIB MiB each (random bytes, `video/mp4`) to one record
of the demo participant with curl, then downloads the export with curl to /dev/null. Prints
upload and export throughput and the server's peak resident memory (VmHWM) before and after
the export, so a zip held in memory would show.

Needs: cargo, curl. Standard library only otherwise.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, data) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--mib", type=int, default=128)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--bin", "strongroom"], cwd=ROOT, check=True)
    binary = os.path.join(TARGET, "release", "strongroom")
    data = tempfile.mkdtemp(prefix="strongroom-export-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, STRONGROOM_LOG__LEVEL="warn", STRONGROOM_BLOBS__MAX_FILE_MIB="4096")
    server = subprocess.Popen([binary, "serve", "--demo", "--data-dir", data,
                               "--listen", f"127.0.0.1:{port}"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in server.stdout:
            if "listening on" in line:
                break
        base = f"http://127.0.0.1:{port}"
        creds = json.load(open(os.path.join(data, "demo-credentials.json")))
        demo = next(t for t in creds["tenants"] if t["slug"] == "demo")
        users = {u["email"].split("@")[0]: u for u in demo["users"]}

        def login(who):
            u = users[who]
            return call(base, "POST", "/api/v1/auth/login",
                        {"tenant": "demo", "email": u["email"], "password": u["password"]})["access_token"]

        admin, part = login("admin"), login("participant1")
        me = call(base, "GET", "/api/v1/me", token=part)
        call(base, "POST", "/api/v1/collections", {"name": "recordings", "fields": [
            {"name": "title", "type": "string"}]}, token=admin)
        rec = call(base, "POST", "/api/v1/collections/recordings/records", {
            "subject_id": me["id"], "data": {"title": "lots of video"}}, token=part)["id"]
        blob = os.path.join(data, "payload.bin")
        with open(blob, "wb") as f:
            f.write(os.urandom(args.mib * 1024 * 1024))
        total = args.files * args.mib * 1024 * 1024
        t0 = time.monotonic()
        for i in range(args.files):
            subprocess.run(["curl", "-sf", "-o", "/dev/null", "-T", blob,
                            "-H", f"authorization: Bearer {part}", "-H", "content-type: video/mp4",
                            f"{base}/api/v1/records/{rec}/files/video{i}.mp4"], check=True)
        upload = time.monotonic() - t0
        before = vm_hwm_kib(server.pid)
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}",
                              "-H", f"authorization: Bearer {part}", f"{base}/api/v1/me/export"],
                             check=True, capture_output=True, text=True).stdout
        export = time.monotonic() - t0
        after = vm_hwm_kib(server.pid)
        size = int(out)
        assert size > total, (size, total)
        mib = total / (1024 * 1024)
        print(f"files: {args.files} x {args.mib} MiB = {mib:.0f} MiB")
        print(f"upload (encrypt + store): {upload:.2f} s, {mib / upload:.0f} MiB/s")
        print(f"export (decrypt + zip + stream): {export:.2f} s, {mib / export:.0f} MiB/s, "
              f"zip {size / (1024 * 1024):.0f} MiB")
        print(f"server peak RSS: {before / 1024:.0f} MiB before the export, {after / 1024:.0f} MiB after")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
