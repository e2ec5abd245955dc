#!/usr/bin/env bash
# Contract tests: schemathesis over every operation of the OpenAPI document (/api/schema/), against
# a local gateway, signed in as an account owner with a site and a sector. Passes when no answer is
# a 5xx and every answer's status code, content type and body are the ones the document declares.
#
#   ./scripts/contract.sh                          # bounded: what ./scripts/test.sh runs
#   CONTRACT_EXAMPLES=100 ./scripts/contract.sh    # the deep run: more examples per operation
#
# Uses the AWS-compatible endpoint of AWS_ENDPOINT_URL when set (scripts/test.sh starts one), or
# starts a private moto server. The gateway's log is .local/contract-gateway.log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

EXAMPLES="${CONTRACT_EXAMPLES:-20}"
ensure_tools
GATEWAY_PID=""
cleanup() {
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
  stop_moto
}
trap cleanup EXIT
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  aws_port="$(free_port)"
  start_moto "$aws_port"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$aws_port"
fi

cargo build --quiet -p local-stack --bin local-gateway
port="$(free_port)"
base="http://127.0.0.1:$port"
# Generous rates: the run measures the contract, not the throttle (whose 429 is in the document).
THROTTLE_RATES='*=100000/min' ./target/debug/local-gateway --port "$port" --provider-port "$(free_port)" \
  --prefix "contract-$(date +%s)-$$" >"$STATE/contract-gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 1 150); do
  curl -fs "$base/api/schema/" -o /dev/null && break
  kill -0 "$GATEWAY_PID" 2>/dev/null || { cat "$STATE/contract-gateway.log" >&2; exit 1; }
  sleep 0.2
done

# An owner with a site and a sector, so that lists have something to scope.
token="$("$VENV/bin/python" - "$base" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def call(method, path, body, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)["data"]
owner = {"email": "contract-owner@example.com", "password": "contract passphrase"}
call("POST", "/api/v1/auth/register/", owner)
token = call("POST", "/api/v1/auth/login/", owner)["access"]
site = call("POST", "/api/v1/auth/sites/", {"name": "Contract site", "industry_id": "healthcare"}, token)
call("POST", "/api/v1/auth/sectors/", {"site_id": site["id"], "name": "Contract sector"}, token)
print(token)
PY
)"

say "schemathesis: every operation of $base/api/schema/, $EXAMPLES examples each"
"$VENV/bin/st" run "$base/api/schema/" \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,fuzzing \
  --max-examples "$EXAMPLES" \
  --workers 2 \
  --request-timeout 30 \
  --generation-database "$STATE/schemathesis-examples" \
  --no-color
