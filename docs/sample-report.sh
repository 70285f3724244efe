#!/usr/bin/env sh
# Writes docs/tom-report-demo.md (and its copy in README.md): the TOM report of the demo tenant of a fresh demo
# installation, as `strongroom report tom` computes it (nothing in it is typed by hand).
#   sh docs/sample-report.sh
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet --bin strongroom
bin="${CARGO_TARGET_DIR:-target}/debug/strongroom"
data=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
"$bin" serve --demo --data-dir "$data" --listen 127.0.0.1:0 >"$data/out" 2>"$data/log" &
server=$!
until grep -q '^listening on ' "$data/out" 2>/dev/null; do
  kill -0 "$server" || { cat "$data/log"; exit 1; }
  sleep 0.2
done
kill "$server"
wait "$server" 2>/dev/null || true
"$bin" --data-dir "$data" report tom --tenant demo --out docs/tom-report-demo.md 2>/dev/null
# The README shows it between its markers.
awk -v report=docs/tom-report-demo.md '
  /<!-- tom-report-demo:start -->/ {
    print; print "<details><summary>The demo tenant'"'"'s TOM report</summary>"; print "";
    while ((getline line < report) > 0) print line; print ""; print "</details>"; skip = 1; next
  }
  /<!-- tom-report-demo:end -->/ { skip = 0 }
  !skip { print }
' README.md > "$data/README.md" && cp "$data/README.md" README.md
echo "wrote docs/tom-report-demo.md and its copy in README.md"
