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
import os
import subprocess
import time

from demo import DemoServer


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
    with DemoServer(env={"STRONGROOM_BLOBS__MAX_FILE_MIB": "4096"}) as srv:
        base, data = srv.base, srv.data
        admin, part = srv.login("admin"), srv.login("participant1")
        me = srv.call("GET", "/api/v1/me", token=part)
        srv.call("POST", "/api/v1/collections", {"name": "recordings", "fields": [
            {"name": "title", "type": "string"}]}, token=admin)
        rec = srv.call("POST", "/api/v1/collections/recordings/records", {
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
        before = vm_hwm_kib(srv.pid)
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}",
                              "-H", f"authorization: Bearer {part}", f"{base}/api/v1/me/export"],
                             check=True, capture_output=True, text=True).stdout
        export = time.monotonic() - t0
        after = vm_hwm_kib(srv.pid)
        size = int(out)
        assert size > total, (size, total)
        mib = total / (1024 * 1024)
        print(f"files: {args.files} x {args.mib} MiB = {mib:.0f} MiB")
        print(f"upload (encrypt + store): {upload:.2f} s, {mib / upload:.0f} MiB/s")
        print(f"export (decrypt + zip + stream): {export:.2f} s, {mib / export:.0f} MiB/s, "
              f"zip {size / (1024 * 1024):.0f} MiB")
        print(f"server peak RSS: {before / 1024:.0f} MiB before the export, {after / 1024:.0f} MiB after")


if __name__ == "__main__":
    main()
