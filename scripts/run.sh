#!/usr/bin/env bash
# Sets up what is missing, then runs AOL with live reload at http://127.0.0.1:3000
# (SQLite file aol.db in this folder unless DATABASE_URL says otherwise).
source "$(dirname "$0")/setup.sh"
setup_rust
cd "$AOL_ROOT"
exec cargo leptos watch "$@"
