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
# The program builds two ways (src/constants.rs): the tests and localnet enable the
# `dev-admin` feature (the published dev key may initialize); a real build names its admin
# with GPUMESH_ADMIN and no feature. Check the real build compiles, and that a build with
# neither refuses to compile rather than fall back to the dev key.
# Its own target dir: these check-only builds have other features than the test build.
real_admin=9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin # any key that is not the dev key
check_dir="$CARGO_TARGET_DIR/admin-check"
GPUMESH_ADMIN=$real_admin cargo check --locked -p gpumesh --lib --target-dir "$check_dir"
if env -u GPUMESH_ADMIN cargo check --locked -p gpumesh --lib --target-dir "$check_dir" >"${TMPDIR:-/tmp}/gpumesh-noadmin.log" 2>&1; then
  echo "test-rust.sh: gpumesh built without GPUMESH_ADMIN and without the dev-admin feature" >&2
  exit 1
fi
grep -q "set GPUMESH_ADMIN" "${TMPDIR:-/tmp}/gpumesh-noadmin.log" || {
  cat "${TMPDIR:-/tmp}/gpumesh-noadmin.log" >&2
  echo "test-rust.sh: the build without an admin failed for another reason" >&2
  exit 1
}
# tests/idl.rs runs a nested `cargo test --lib --features idl-build` (the way `anchor idl
# build` does) in "$CARGO_TARGET_DIR/idl-build"; its first run compiles the tree once more.
cargo test --locked --workspace "$@"
echo "test-rust.sh: ok in $(( $(date +%s) - start ))s"
