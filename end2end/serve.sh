#!/usr/bin/env bash
# Starts a fresh AOL for the browser tests (Playwright's webServer runs this).
#   $1 = sqlite | postgres   $2 = port
# Uses the binary that `cargo leptos build` made; each run starts from an empty
# database so the tests see only what they did.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=$1
port=$2
dir="end2end/.tmp/$kind"
rm -rf "$dir"
mkdir -p "$dir"
case "$kind" in
  sqlite)
    export DATABASE_URL="sqlite://$PWD/$dir/aol.db" ;;
  postgres)
    admin="${AOL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    psql "$admin" -q -c "DROP DATABASE IF EXISTS aol_e2e WITH (FORCE)" -c "CREATE DATABASE aol_e2e"
    export DATABASE_URL="${admin%/*}/aol_e2e" ;;
  *)
    echo "usage: serve.sh sqlite|postgres PORT" >&2; exit 2 ;;
esac
export RUST_LOG="${RUST_LOG:-warn}"
# The tests sign in with this token (support.ts has the same).
export AOL_OPERATOR_TOKEN="e2e-operator-token-0123456789"
unset OPENAI_API_KEY
# Channels' secret files (the tests write them there); the webhook stand-ins
# and the local PDS run on this machine.
mkdir -p "$dir/secrets"
export AOL_SECRETS_DIR="$PWD/$dir/secrets"
export AOL_ALLOW_PRIVATE_CHANNELS=1
# One failed attempt sends an action to the DLQ, so the tests can reach it quickly.
exec ./target/debug/aol serve --bind "127.0.0.1:$port" --tick-interval-seconds 0.3 --max-retries 1 --http-timeout-seconds 1
