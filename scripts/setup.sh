# Sourced by scripts/run.sh and scripts/test.sh: installs what is missing on a
# fresh machine (with rustup/cargo, node/npm and apt), and nothing else.
# Every step checks first, so a second run costs seconds.

set -euo pipefail

AOL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION=0.3.10
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  command -v apt-get >/dev/null || die "please install: $* (no apt-get here)"
  say "installing $* (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null \
    || { as_root apt-get update >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null; }
}

# Rust toolchain, the wasm target, cargo-leptos and wasm-bindgen.
setup_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with https://rustup.rs"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  # Prebuilt tools shared on the team's machines, when present.
  local shared="$AOL_ROOT/../shared/tools/bin"
  if [ -d "$shared" ]; then export PATH="$(cd "$shared" && pwd):$PATH"; fi
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores, once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

# Node packages and Debian's Chromium for the Playwright tests.
setup_browser_tests() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then apt_install chromium; fi
  if [ ! -d "$AOL_ROOT/end2end/node_modules/@playwright/test" ]; then
    say "installing Playwright (npm; no browser download)"
    (cd "$AOL_ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# The Bluesky reference server the REAL-posting tests run against
# (scripts/pds: Node 22 and @atproto/pds from npm, one native module compiled
# here, so a compiler and make are needed; installed once into .tools/).
setup_bluesky() {
  command -v npm >/dev/null || apt_install nodejs npm
  command -v g++ >/dev/null && command -v make >/dev/null && command -v python3 >/dev/null || apt_install g++ make python3
  command -v openssl >/dev/null || apt_install openssl
  bash "$AOL_ROOT/scripts/pds/install.sh" >/dev/null
}

# A PostgreSQL the tests can create databases in, at AOL_TEST_POSTGRES_URL.
setup_postgres() {
  export AOL_TEST_POSTGRES_URL="${AOL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  command -v psql >/dev/null || apt_install postgresql
  pg_ok() { psql "$AOL_TEST_POSTGRES_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; }
  pg_ok && return 0
  if command -v pg_ctlcluster >/dev/null || apt_install postgresql; then
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$version" ]; then
      say "starting PostgreSQL $version"
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
      for _ in $(seq 1 30); do pg_ok && return 0; sleep 1; done
    fi
  fi
  # A stock Debian PostgreSQL wants a password over TCP: give the postgres role one.
  if as_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'aol-test'\"" >/dev/null 2>&1; then
    export AOL_TEST_POSTGRES_URL="postgres://postgres:aol-test@127.0.0.1:5432/postgres"
    pg_ok && return 0
  fi
  die "cannot reach PostgreSQL at $AOL_TEST_POSTGRES_URL (set AOL_TEST_POSTGRES_URL to a superuser URL)"
}
