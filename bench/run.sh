#!/usr/bin/env bash
# Runs the whole benchmark harness (issue 7) and rewrites docs/benchmarks.md and its plot.
#
#   bench/run.sh          every scenario at full size: about 30 minutes on 2 cores
#   bench/run.sh quick    every scenario small, a few minutes; writes target/benchmarks-quick.md
#
# Needs: a Rust toolchain, curl, /usr/bin/time (Debian: apt-get install time), and for the
# profiles perf (Debian: apt-get install linux-perf). Network only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-full}"
case "$mode" in
    full) out=docs/benchmarks.md ;;
    quick) out=target/benchmarks-quick.md ;;
    *) echo "usage: bench/run.sh [full|quick]" >&2; exit 2 ;;
esac

cargo build --release --locked --bins --examples
mkdir -p "$(dirname "$out")"
started=$(date +%s)
target/release/examples/bench "$mode" --out "$out"
echo "bench: $mode harness took $(( $(date +%s) - started )) s; see $out" >&2
