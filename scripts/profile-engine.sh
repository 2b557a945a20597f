#!/usr/bin/env bash
# Profiles one side of `cargo bench --bench engine` with perf, the way the
# README's engine section was measured: `msgperf serve` pinned to core 1,
# the generator (a fresh bench process) pinned to core 0, then prints where
# the generator's CPU went: by system call (each sample's outermost one) and
# the top user-space symbols.
#
#   scripts/profile-engine.sh [engine|engine-idle|engine-empty|engine-10k]
#
# Needs perf (Debian: linux-perf) and a release build of the bench
# (`cargo bench --bench engine --no-run`). Writes target/profile/<side>.data.
set -euo pipefail
cd "$(dirname "$0")/.."
side="${1:-engine}"
out=target/profile
mkdir -p "$out"
bench=""
for f in target/release/deps/engine-*; do
  [[ "$f" == *.d || ! -x "$f" ]] && continue
  [[ -z "$bench" || "$f" -nt "$bench" ]] && bench="$f"
done
[[ -n "$bench" ]] || { echo "no bench binary: run cargo bench --bench engine --no-run" >&2; exit 2; }
taskset -c 1 target/release/msgperf serve --organizer-port 0 --participant-port 0 \
  --messenger-port 0 >"$out/serve.out" 2>"$out/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q '^organizer_password: ' "$out/serve.out" && break; sleep 0.1; done
get() { sed -n "s/^$1: //p" "$out/serve.out" | head -1 | tr -d '"'; }
export BENCH_WS BENCH_ORG BENCH_PART BENCH_EVENT BENCH_EMAIL BENCH_PASSWORD
BENCH_WS=$(get messenger_ws_url) BENCH_ORG=$(get organizer_api_url)
BENCH_PART=$(get participant_api_url) BENCH_EVENT=$(get event_id)
BENCH_EMAIL=$(get organizer_email) BENCH_PASSWORD=$(get organizer_password)
before=$(awk '{print $14 + $15}' "/proc/$server/stat")
BENCH_CHILD="$side" perf record -q -e cpu-clock -F 2000 -g -o "$out/$side.data" "$bench" | grep SAMPLE
after=$(awk '{print $14 + $15}' "/proc/$server/stat")
echo "server CPU over the run: $(( (after - before) * 10 )) ms"
python3 scripts/perf-breakdown.py "$out/$side.data"
