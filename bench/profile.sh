#!/usr/bin/env bash
# make profile: the uWS server under the fan-out load (bench/profile-load.ts), three times:
#   1. SHARDS=0 under `clinic doctor`  -> results/profile/doctor.clinic-doctor.html
#   2. SHARDS=0 under `clinic flame`   -> results/profile/flame.clinic-flame.html
#      (clinic samples the main thread only, so everything runs there: SHARDS=0)
#   3. SHARDS=2 with `node --cpu-prof` -> results/profile/shards/*.cpuprofile, one per thread (main
#      thread and each shard worker); open them in Chrome DevTools or speedscope.
# Headless: clinic gets --open=false and writes its HTML next to its data in --dest.
# Knobs: the bench's BENCH_SUBSCRIBERS, BENCH_RATE, BENCH_SECONDS (default 10 s here), ...
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=results/profile
CLINIC=node_modules/.bin/clinic
export BENCH_SECONDS="${BENCH_SECONDS:-10}"
# Without it clinic asks on stdin whether it may send usage statistics, and headless it just exits.
export NO_INSIGHT=1
mkdir -p "$OUT/shards"
rm -rf "$OUT"/doctor* "$OUT"/flame* "$OUT"/shards/*.cpuprofile

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

run() { # label, command...
  local label=$1; shift
  echo "== make profile: $label =="
  node dist/bench/profile-load.js "$label" -- "$@" </dev/null &
  pids+=($!)
  wait $!
}

SHARDS=0 run doctor "$CLINIC" doctor --open=false --dest "$OUT" --name doctor -- node dist/src/server.js
SHARDS=0 run flame "$CLINIC" flame --open=false --dest "$OUT" --name flame -- node dist/src/server.js
SHARDS=2 run shards node --cpu-prof --cpu-prof-dir="$OUT/shards" dist/src/server.js

echo "== make profile: reports =="
ls -1 "$OUT"/*.html 2>/dev/null || echo "no clinic HTML report was written (see the output above)"
ls -1 "$OUT"/shards/*.cpuprofile
