# Shared by scripts/*.sh. Everything the project needs comes from its own files: Python tools in
# .venv from PyPI (infra/requirements-dev.txt), crates with cargo, Debian packages with apt-get.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STATE="$ROOT/.local"
mkdir -p "$STATE"

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export SAM_CLI_TELEMETRY=0
export PATH="$VENV/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs what is missing, idempotently: a Python virtualenv with the pinned tools.
ensure_tools() {
  command -v cargo >/dev/null || { echo "cargo is required (the Rust toolchain)" >&2; exit 1; }
  if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    say "installing python3 and venv (apt-get)"
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  fi
  # The docs function fetches ReDoc's script with `npm pack` when it is built.
  if ! command -v npm >/dev/null; then
    say "installing npm (apt-get)"
    apt-get update -qq && apt-get install -y -qq npm >/dev/null
  fi
  # The contract tests open the API's docs pages in headless Chromium.
  if ! command -v chromium >/dev/null; then
    say "installing chromium (apt-get)"
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  fi
  # The domain crate embeds the IANA time zone database (automation schedules) when it is built.
  if [ ! -d /usr/share/zoneinfo ]; then
    say "installing tzdata (apt-get)"
    apt-get update -qq && apt-get install -y -qq tzdata >/dev/null
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
  fi
  local req="$ROOT/infra/requirements-dev.txt" stamp="$VENV/.requirements.sha256"
  local want; want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing local tools from infra/requirements-dev.txt (moto, cargo-lambda, aws-sam-cli, cfn-lint, schemathesis)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Prints "localstack", "moto" or nothing for what answers at $1.
endpoint_kind() {
  python3 - "$1" <<'PY'
import sys, urllib.request
base = sys.argv[1].rstrip("/")
for path, kind in (("/_localstack/health", "localstack"), ("/moto-api/", "moto")):
    try:
        with urllib.request.urlopen(base + path, timeout=1) as r:
            if r.status == 200:
                print(kind); break
    except Exception:
        pass
PY
}

# Starts moto server (infra/aws-endpoint/serve.py: moto with DynamoDB's isolation) on
# 127.0.0.1:$1 in the background; sets MOTO_PID; waits until it answers.
start_moto() {
  local port="$1" log="$STATE/moto-$1.log"
  "$VENV/bin/python" "$ROOT/infra/aws-endpoint/serve.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    [ -n "$(endpoint_kind "http://127.0.0.1:$port")" ] && return 0
    kill -0 "$MOTO_PID" 2>/dev/null || { cat "$log" >&2; echo "moto server did not start" >&2; return 1; }
    sleep 0.2
  done
  echo "moto server did not answer on port $port" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  MOTO_PID=""
}
