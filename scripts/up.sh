#!/usr/bin/env bash
# Sets everything up and runs the system locally:
#   - installs the local tools into .venv (first run only);
#   - uses the AWS-compatible endpoint on localhost:4566 if one answers (LocalStack or moto),
#     otherwise starts moto server there;
#   - bootstraps the table, queues, bucket, secrets and reference data (idempotent);
#   - serves /api/v1 on http://localhost:8000 by the routes of template.yaml, until Ctrl-C.
# Options: PORT (default 8000), AWS_PORT (default 4566), PREFIX (resource names, default igny8-local).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT="${PORT:-8000}"
AWS_PORT="${AWS_PORT:-4566}"
PREFIX="${PREFIX:-igny8-local}"
export AWS_ENDPOINT_URL="http://localhost:$AWS_PORT"

ensure_tools
trap stop_moto EXIT

kind="$(endpoint_kind "$AWS_ENDPOINT_URL")"
if [ -n "$kind" ]; then
  say "using the $kind endpoint already on $AWS_ENDPOINT_URL"
else
  say "starting moto server on $AWS_ENDPOINT_URL"
  start_moto "$AWS_PORT"
fi

say "building the local gateway (the first build compiles the AWS SDK and takes a few minutes)"
cargo build -p local-stack --bin local-gateway --bin bootstrap

# The environment of a single function, for `cargo lambda watch --env-file .local/lambda.env`.
./target/debug/bootstrap --prefix "$PREFIX" > "$STATE/lambda.env"
echo "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" >> "$STATE/lambda.env"
echo "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" >> "$STATE/lambda.env"
echo "AWS_REGION=$AWS_REGION" >> "$STATE/lambda.env"

./target/debug/local-gateway --port "$PORT" --prefix "$PREFIX"
