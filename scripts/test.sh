#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the local tools on first use, starts a
# private moto server on a free port and a real WordPress on loopback (scripts/wordpress.sh,
# Debian packages), lints the SAM template, runs every cargo test, checks formatting and clippy,
# and stops what it started even when something fails.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools || exit 1
trap 'stop_moto; ./scripts/wordpress.sh stop >/dev/null 2>&1' EXIT
port="$(free_port)"
say "starting moto server on 127.0.0.1:$port"
start_moto "$port" || exit 1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
# One WordPress per checkout (a short directory: its database socket lives there).
export WORDPRESS_DIR="${WORDPRESS_DIR:-/tmp/igny8-wp-$(printf %s "$ROOT" | sha256sum | cut -c1-8)}"
say "starting WordPress on loopback in $WORDPRESS_DIR (scripts/wordpress.sh)"
wordpress_env="$(./scripts/wordpress.sh start)" || { echo "WordPress could not be started: see above" >&2; exit 1; }
set -a
eval "$(grep -E '^WORDPRESS_[A-Z_]+=' <<<"$wordpress_env")"
set +a

failed=()
run() {
  say "$*"
  "$@" || failed+=("$*")
}

run sam validate --lint --template template.yaml
run cfn-lint template.yaml
run cargo test --workspace
run ./scripts/contract.sh
run cargo fmt --all --check
run cargo clippy --workspace --all-targets -- -D warnings

if [ "${#failed[@]}" -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all checks passed"
