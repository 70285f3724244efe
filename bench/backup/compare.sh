#!/usr/bin/env bash
# Strongroom's backups against restic on the same data folder: full backup, incremental after a
# 1 % change, restore, RTO, file replication lag. See bench/backup/README.md.
#
#   STRONGROOM_BIN=target/release/strongroom bash bench/backup/compare.sh
#
# Env: STRONGROOM_BIN (required), FILES_MIB=2048, FILE_MIB=4, RECORDS=100000,
#      WORK=<mktemp -d under /tmp> (removed at the end unless KEEP=1), RESULTS=<copy results.md here>
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SEED=(python3 "$HERE/seed.py")

die() { echo "compare.sh: $*" >&2; exit 1; }

[[ -n ${STRONGROOM_BIN:-} ]] || die "set STRONGROOM_BIN to a release strongroom binary"
BIN=$(readlink -f "$STRONGROOM_BIN")
[[ -x $BIN ]] || die "STRONGROOM_BIN=$STRONGROOM_BIN is not an executable"
# Strongroom reads every STRONGROOM_* variable as configuration and refuses unknown ones.
unset STRONGROOM_BIN
FILES_MIB=${FILES_MIB:-2048}
FILE_MIB=${FILE_MIB:-4}
RECORDS=${RECORDS:-100000}
KEEP=${KEEP:-0}
RESULTS=${RESULTS:-}
if [[ -n ${WORK:-} ]]; then
  mkdir -p "$WORK"
  [[ -z $(ls -A "$WORK") ]] || die "WORK=$WORK is not empty"
  WORK=$(readlink -f "$WORK")
else
  WORK=$(mktemp -d /tmp/strongroom-backup-bench.XXXXXX)
fi
DATA=$WORK/data
LOGS=$WORK/logs
SR_TARGET=file://$WORK/sr-target
REPO=$WORK/restic-repo
mkdir -p "$LOGS"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$WORK/restic-cache

SERVER_PID=
cleanup() {
  local rc=$?
  stop_server
  if [[ $rc != 0 ]]; then
    echo "compare.sh: failed (exit $rc); logs in $LOGS" >&2
    for f in "$LOGS"/*.err; do
      [[ -s $f ]] && { echo "--- $f (last lines)" >&2; tail -n 5 "$f" >&2; }
    done
  fi
  if [[ $KEEP == 1 ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------
if ! command -v restic >/dev/null; then
  [[ $(id -u) == 0 ]] || die "restic is missing: apt-get install -y restic (as root)"
  echo "installing restic (apt-get install -y restic)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y restic >"$LOGS/apt.out" 2>&1 \
    || { apt-get update >>"$LOGS/apt.out" 2>&1 && apt-get install -y restic >>"$LOGS/apt.out" 2>&1; } \
    || die "apt-get install -y restic failed (see $LOGS/apt.out)"
fi
RESTIC_VERSION=$(restic version | head -n 1)
SR_VERSION=$("$BIN" --version 2>/dev/null | head -n 1 || echo "unknown (no --version)")
if "$BIN" serve --help 2>&1 | grep -q -- '--listen'; then LISTEN_FLAG=1; else LISTEN_FLAG=0; fi

need_mib=$(( FILES_MIB * 6 + 1024 ))   # data, two targets, two restores, margin
avail_mib=$(df -Pm "$WORK" | awk 'NR==2 {print $4}')
(( avail_mib > need_mib )) || die "$WORK has ${avail_mib} MiB free; about ${need_mib} MiB are needed"

# --- helpers -------------------------------------------------------------------------------
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
CACHES="dropped before every timed step (sync; echo 3 > /proc/sys/vm/drop_caches)"
drop_caches() {
  sync
  if ! { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
    CACHES="not dropped (/proc/sys/vm/drop_caches is not writable here): reads may come from the page cache"
  fi
}

COMMANDS=()
# timed NAME CMD...: drop caches, run CMD (stdout, stderr into $LOGS/NAME.*), T = wall seconds.
timed() {
  local name=$1 t0 t1
  shift
  COMMANDS+=("$*")
  drop_caches
  t0=$(now)
  "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" || die "$name failed: $* (see $LOGS/$name.err)"
  t1=$(now)
  T=$(calc "$t1 - $t0" 3)
  echo "  $name: $T s" >&2
}

healthy() {
  if command -v curl >/dev/null; then
    curl -fs -o /dev/null --max-time 2 "$BASE/healthz"
  else
    "${SEED[@]}" health --base "$BASE" --timeout 0.05
  fi
}

# start_server NAME DATA_DIR [--demo] [VAR=VALUE]...: serve on a free port until /healthz
# answers 200; BASE is its address. Returns 1 (SERVER_ERROR holds its last stderr line) if the
# server exits first.
start_server() {
  local name=$1 dir=$2 demo=() envs=() a t0
  shift 2
  for a in "$@"; do
    if [[ $a == --demo ]]; then demo=(--demo); else envs+=("$a"); fi
  done
  PORT=$("${SEED[@]}" port)
  BASE=http://127.0.0.1:$PORT
  local listen=()
  if [[ $LISTEN_FLAG == 1 ]]; then listen=(--listen "127.0.0.1:$PORT"); else envs+=("STRONGROOM_LISTEN=127.0.0.1:$PORT"); fi
  env STRONGROOM_LOG__LEVEL=warn "${envs[@]}" "$BIN" --data-dir "$dir" serve "${demo[@]}" "${listen[@]}" \
    >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
  SERVER_PID=$!
  t0=$SECONDS
  until healthy; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" || true
      SERVER_PID=
      SERVER_ERROR=$(grep -v '^\s*$' "$LOGS/$name.err" | tail -n 1 | cut -c1-300)
      return 1
    fi
    (( SECONDS - t0 < 300 )) || die "$name: the server did not answer /healthz within 300 s"
    sleep 0.01
  done
}

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local i
  for i in $(seq 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

json_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

echo "work folder: $WORK" >&2

# --- 1. seed ---------------------------------------------------------------------------------
echo "1. seeding: $RECORDS records, ${FILES_MIB} MiB of files of ${FILE_MIB} MiB" >&2
start_server seed "$DATA" --demo || die "serve --demo did not start: $SERVER_ERROR"
"${SEED[@]}" seed --base "$BASE" --data "$DATA" --state "$WORK/state.json" --records "$RECORDS" \
  --files-mib "$FILES_MIB" --file-mib "$FILE_MIB" >"$LOGS/seed.json"
stop_server
SEED_RECORDS_S=$(json_field "$LOGS/seed.json" '["records_seconds"]')
NFILES=$(json_field "$LOGS/seed.json" '["files"]')

# --- 2. size ---------------------------------------------------------------------------------
D=$(du -sb "$DATA" | cut -f1)
echo "2. data folder: $D bytes" >&2

# --- 3. full backups -------------------------------------------------------------------------
echo "3. full backups" >&2
timed sr-full "$BIN" --data-dir "$DATA" backup run --to "$SR_TARGET"
SR_FULL=$T
SR_FULL_SELF=$(json_field "$LOGS/sr-full.out" '.get("seconds", "?")' 2>/dev/null || echo "?")
restic -r "$REPO" init >"$LOGS/restic-init.out" 2>&1 || die "restic init failed (see $LOGS/restic-init.out)"
COMMANDS+=("restic -r $REPO init")
timed restic-full restic -r "$REPO" backup "$DATA"
R_FULL=$T
SR_TARGET_FULL=$(du -sb "$WORK/sr-target" | cut -f1)
R_REPO_FULL=$(du -sb "$REPO" | cut -f1)

# --- 4. incremental after a 1 % change -------------------------------------------------------
echo "4. 1 % change, incremental backups" >&2
start_server change "$DATA" || die "serve did not start: $SERVER_ERROR"
"${SEED[@]}" change --base "$BASE" --data "$DATA" --state "$WORK/state.json" --pct 1 \
  --files-mib "$FILES_MIB" --file-mib "$FILE_MIB" >"$LOGS/change.json"
stop_server
CHANGED_RECORDS=$(json_field "$LOGS/change.json" '["updated_records"]')
CHANGED_FILES=$(json_field "$LOGS/change.json" '["new_files"]')
CHANGED_BYTES=$(json_field "$LOGS/change.json" '["new_file_bytes"]')
D2=$(du -sb "$DATA" | cut -f1)
timed sr-incr "$BIN" --data-dir "$DATA" backup run --to "$SR_TARGET"
SR_INCR=$T
SR_INCR_SELF=$(json_field "$LOGS/sr-incr.out" '.get("seconds", "?")' 2>/dev/null || echo "?")
SR_INCR_NEW=$(json_field "$LOGS/sr-incr.out" '.get("bytes_new", "?")' 2>/dev/null || echo "?")
timed restic-incr restic -r "$REPO" backup "$DATA"
R_INCR=$T
R_INCR_NEW=$(grep -o 'Added to the repo[a-z]*: .*' "$LOGS/restic-incr.out" | sed 's/^[^:]*: //' || echo "?")
SR_TARGET_SIZE=$(du -sb "$WORK/sr-target" | cut -f1)
R_REPO_SIZE=$(du -sb "$REPO" | cut -f1)

# --- 5. restore and RTO ----------------------------------------------------------------------
echo "5. restores" >&2
RESTORED=$WORK/restored
mkdir -p "$RESTORED"
cp "$DATA/strongroom.key" "$RESTORED/"
[[ -f $DATA/dev-passphrase ]] && cp "$DATA/dev-passphrase" "$RESTORED/"
timed sr-restore "$BIN" --data-dir "$RESTORED" restore --from "$SR_TARGET"
SR_RESTORE=$T
SR_RESTORE_SELF=$(json_field "$LOGS/sr-restore.out" '.get("seconds", "?")' 2>/dev/null || echo "?")
timed restic-restore restic -r "$REPO" restore latest --target "$WORK/restic-restored"
R_RESTORE=$T
t0=$(now)
start_server rto "$RESTORED" || die "serve on the restored folder did not start: $SERVER_ERROR"
t1=$(now)
SR_START=$(calc "$t1 - $t0" 3)
COMMANDS+=("$BIN --data-dir $RESTORED serve --listen 127.0.0.1:PORT   # until GET /healthz answers 200")
RTO=$(calc "$SR_RESTORE + $SR_START" 2)
echo "  serve until /healthz: $SR_START s; RTO $RTO s" >&2
if "${SEED[@]}" check --base "$BASE" --data "$DATA" --state "$WORK/state.json" --pct 1 \
    >"$LOGS/check.out" 2>"$LOGS/check.err"; then
  SR_CHECK="yes (first, last and an updated record read back through the API)"
else
  SR_CHECK="NO: $(tail -n 1 "$LOGS/check.err")"
fi
stop_server
COMMANDS+=("$BIN --data-dir $RESTORED audit verify")
if "$BIN" --data-dir "$RESTORED" audit verify >"$LOGS/audit.out" 2>"$LOGS/audit.err"; then
  AUDIT="exit 0"
else
  AUDIT="FAILED (exit $?): $(cat "$LOGS/audit.err" "$LOGS/audit.out" | grep -v '^\s*$' | tail -n 1 | cut -c1-300)"
fi
if diff -rq "$DATA/blobs" "$RESTORED/blobs" >"$LOGS/diff-sr.out" 2>&1; then
  SR_BLOBS="identical"
else
  SR_BLOBS="DIFFER ($(wc -l <"$LOGS/diff-sr.out") entries, see logs/diff-sr.out)"
fi
if diff -rq "$DATA" "$WORK/restic-restored$DATA" >"$LOGS/diff-restic.out" 2>&1; then
  R_DIFF="identical"
else
  R_DIFF="DIFFER ($(wc -l <"$LOGS/diff-restic.out") entries, see logs/diff-restic.out)"
fi

# --- 6. replication lag ----------------------------------------------------------------------
echo "6. replication lag" >&2
mkdir -p "$WORK/replica"
LAG_ENV=(STRONGROOM_BLOBS__REPLICA_URL="file://$WORK/replica" STRONGROOM_BACKUP__TARGET="$SR_TARGET"
         STRONGROOM_BACKUP__INTERVAL_SECS=60)
COMMANDS+=("${LAG_ENV[*]} $BIN --data-dir $DATA serve --listen 127.0.0.1:PORT")
if start_server lag "$DATA" "${LAG_ENV[@]}"; then
  if "${SEED[@]}" lag --base "$BASE" --data "$DATA" --state "$WORK/state.json" \
      --replica "$WORK/replica" --repeat 5 --out "$LOGS/lag.json" >/dev/null 2>"$LOGS/lag-client.err"; then
    LAG_N=$(json_field "$LOGS/lag.json" '["replicated"]')
    if [[ $LAG_N == 0 ]]; then
      LAG_MED="n/a (nothing reached the replica within 30 s)"
      LAG_MAX="n/a"
    else
      LAG_MED="$(calc "$(json_field "$LOGS/lag.json" '["median"]')" 3) s"
      LAG_MAX="$(calc "$(json_field "$LOGS/lag.json" '["max"]')" 3) s"
      [[ $LAG_N == 5 ]] || LAG_MAX="$LAG_MAX (only $LAG_N of 5 within 30 s)"
    fi
  else
    LAG_MED="n/a (the measurement failed: $(tail -n 1 "$LOGS/lag-client.err"))"
    LAG_MAX="n/a"
  fi
  stop_server
else
  LAG_MED="n/a (this binary refused the settings: $SERVER_ERROR)"
  LAG_MAX="n/a"
fi

# --- 7. results ------------------------------------------------------------------------------
mb() { calc "$1 / 1e6" 1; }
mbs() { calc "$1 / 1e6 / $2" 1; }
pct() { calc "100 * $1 / $2" 1; }
# Strongroom's own "seconds": the work, without process start, key unlocking and opening the store.
own() { [[ $1 == "?" ]] && echo "" || echo "; its JSON says $(calc "$1" 3) s"; }
{
  echo "# Strongroom backups against restic"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(df -PT "$WORK" | awk 'NR==2 {print $2}') file system under $WORK; page cache $CACHES."
  echo
  echo "| measure | Strongroom | restic | Strongroom / restic |"
  echo "|---|---|---|---|"
  echo "| data folder (\`du -sb\`, full backup) | $(mb "$D") MB | same | |"
  echo "| records / files | $RECORDS / $NFILES of $FILE_MIB MiB (seeded: records in $SEED_RECORDS_S s) | same | |"
  echo "| full backup | $SR_FULL s, $(mbs "$D" "$SR_FULL") MB/s$(own "$SR_FULL_SELF") | $R_FULL s, $(mbs "$D" "$R_FULL") MB/s | $(calc "$SR_FULL / $R_FULL") × the time |"
  echo "| target size after the full backup | $(mb "$SR_TARGET_FULL") MB | $(mb "$R_REPO_FULL") MB | |"
  echo "| change | $CHANGED_FILES new file(s) ($(mb "$CHANGED_BYTES") MB), $CHANGED_RECORDS records updated (PATCH) | same | |"
  echo "| incremental backup | $SR_INCR s = $(pct "$SR_INCR" "$SR_FULL") % of full (bytes_new $SR_INCR_NEW$(own "$SR_INCR_SELF")) | $R_INCR s = $(pct "$R_INCR" "$R_FULL") % of full (added $R_INCR_NEW) | $(calc "$SR_INCR / $R_INCR") × the time |"
  echo "| target size after both | $(mb "$SR_TARGET_SIZE") MB | $(mb "$R_REPO_SIZE") MB | |"
  echo "| restore ($(mb "$D2") MB) | $SR_RESTORE s, $(mbs "$D2" "$SR_RESTORE") MB/s$(own "$SR_RESTORE_SELF") | $R_RESTORE s, $(mbs "$D2" "$R_RESTORE") MB/s | $(calc "$SR_RESTORE / $R_RESTORE") × the time |"
  echo "| restored content | blobs $SR_BLOBS; $SR_CHECK | data folder $R_DIFF | |"
  echo "| RTO (restore + serve until \`/healthz\` 200) | $RTO s ($SR_RESTORE + $SR_START) | | |"
  echo "| \`audit verify\` on the restored folder | $AUDIT | | |"
  echo "| replication lag, 1 MiB upload → replica (5 runs, polled every 20 ms) | median $LAG_MED, max $LAG_MAX | | |"
  echo
  echo "MB/s = bytes of the data folder / 10^6 / wall seconds. Versions: \`$SR_VERSION\` ($BIN), \`$RESTIC_VERSION\` (compression: auto, the default)."
  echo
  echo "Commands (each timed one after dropping the page cache where possible):"
  echo
  for c in "${COMMANDS[@]}"; do echo "    $c"; done
} >"$WORK/results.md"
[[ -n $RESULTS ]] && cp "$WORK/results.md" "$RESULTS"
cat "$WORK/results.md"
