#!/usr/bin/env bash
# Runs the benchmarks against a private moto server (like scripts/test.sh) and prints their tables
# (also written to target/bench/*.md). Set ARM64=1 to build the arm64 Lambda artifact first.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools || exit 1
if [ "${ARM64:-0}" = 1 ]; then
  say "cargo lambda build --release --arm64 -p auth-function"
  cargo lambda build --release --arm64 -p auth-function || exit 1
fi
trap stop_moto EXIT
port="$(free_port)"
start_moto "$port" || exit 1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
cargo bench -p api-tests --bench auth --bench requests --bench lists --bench pipeline --bench planner --bench writer --bench ai_jobs --bench linker --bench automation
