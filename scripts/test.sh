#!/usr/bin/env bash
# Sets up what is missing, then runs every test: Rust (unit, storage, engine,
# CLI) on SQLite and on PostgreSQL, then the Playwright browser tests on both,
# then a smoke pass of the benchmark suite (every section at tiny sizes, with
# the peer; nothing judged: it only has to run and print) and a build of the
# fuzz targets, so that neither breaks unseen.
#   --long   also the long reliability runs (many kill -9 and SIGSTOP rounds,
#            200 model sequences) and fuzzing
if [[ "${1:-}" == "--long" ]]; then
  export AOL_RELIABILITY=long
fi
source "$(dirname "$0")/setup.sh"
setup_rust
setup_postgres
setup_browser_tests
setup_bluesky
cd "$AOL_ROOT"

say "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
# The browser's half (feature "hydrate") compiles other code: lint it too.
cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown --locked -- -D warnings

say "Rust tests (SQLite and PostgreSQL at ${AOL_TEST_POSTGRES_URL%%@*}@…)"
rm -f target/tmp/reliability-report.txt
cargo test --locked 2>&1 | tee target/rust-tests.log
grep -E '^test result:' target/rust-tests.log \
  | awk '{p+=$4; f+=$6} END {printf "Rust tests: %d passed, %d failed\n", p, f}' >&2
cat target/tmp/reliability-report.txt >&2 2>/dev/null || true

say "building the app (cargo leptos build)"
cargo leptos build

say "browser tests (Playwright, Chromium)"
(cd end2end && npx playwright test)

say "benchmark suite, smoke pass (AOL_BENCH_SMOKE=1, dev profile)"
AOL_BENCH_SMOKE=1 cargo bench --locked --profile dev --bench suite 2>&1 | tee target/bench-smoke.log | tail -n 60

say "building the fuzz targets"
# Their own lock file, so their own target folder: built into the tests'
# folder, they overwrite its libaol with one linked against their crates, and
# the next `cargo test` there fails ("found a different CancellationToken").
# (Running them, `--long`, needs cargo-fuzz's sanitizer flags; building does not.)
CARGO_TARGET_DIR="$AOL_ROOT/target/fuzz-build" cargo build --locked --manifest-path fuzz/Cargo.toml --bins

# The long part also fuzzes (issue 7): payload parsing, the whole enqueue
# path and any HTTP request to the whole router, AOL_FUZZ_SECONDS [300] per
# target, starting from the kept corpus.
# cargo-fuzz uses nightly-only sanitizer flags; RUSTC_BOOTSTRAP lets the
# stable toolchain accept them.
if [[ "${AOL_RELIABILITY:-}" == "long" ]]; then
  say "fuzzing (cargo fuzz, ${AOL_FUZZ_SECONDS:-300} s per target)"
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
  for target in payload enqueue request; do
    mkdir -p "fuzz/corpus/$target"
    if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "fuzz/corpus/$target" -- \
      -max_total_time="${AOL_FUZZ_SECONDS:-300}" > "target/fuzz-$target.log" 2>&1; then
      tail -n 40 "target/fuzz-$target.log" >&2
      exit 1
    fi
    grep -E '^Done [0-9]+ runs' "target/fuzz-$target.log" | sed "s/^/fuzz $target: /" >&2
  done
fi
