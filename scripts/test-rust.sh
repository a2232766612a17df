#!/usr/bin/env bash
# Single entry for the Rust side (called by the JS side's `pnpm test` and by CI).
# Runs every test of the Cargo workspace: program tests on the native program-test bank,
# property tests, the shared-vector staleness check (vectors/*.json) and the IDL staleness
# check (idl/gpumesh.json). Exits non-zero on any failure.
#   UPDATE_VECTORS=1 scripts/test-rust.sh   rewrite programs/gpumesh/vectors/*.json
#   UPDATE_IDL=1 scripts/test-rust.sh       rewrite programs/gpumesh/idl/gpumesh.json
set -euo pipefail
cd "$(dirname "$0")/.."

# Persistent target dir outside the repo so repeated runs (and CI on the same machine)
# reuse the (large) Anchor + solana-program-test build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gpumesh/cargo-target}"
mkdir -p "$CARGO_TARGET_DIR"
# Machines here have 2 cores; more jobs than that only adds memory pressure.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# solana-program-test logs every instruction at debug level otherwise.
export RUST_LOG="${RUST_LOG:-error}"

if ! command -v cargo >/dev/null 2>&1; then
  echo "test-rust.sh: cargo not found (install Rust via rustup)" >&2
  exit 1
fi

start=$(date +%s)
# tests/idl.rs runs a nested `cargo test --lib --features idl-build` (the way `anchor idl
# build` does) in "$CARGO_TARGET_DIR/idl-build"; its first run compiles the tree once more.
cargo test --locked --workspace "$@"
echo "test-rust.sh: ok in $(( $(date +%s) - start ))s"
