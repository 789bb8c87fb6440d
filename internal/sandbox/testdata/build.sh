#!/bin/sh
# Rebuilds the test guests. Needs clang-14 with wasi-libc (Debian:
# clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32) and wabt. The built
# .wasm files are committed, so tests never need these tools.
set -eu
cd "$(dirname "$0")"
CC=${CC:-clang-14}
for c in tool trivial; do
	$CC --target=wasm32-wasi -O2 -Wl,--strip-all -o $c.wasm $c.c
done
for w in recursion grow trap unknown_import bigmem; do
	wat2wasm -o $w.wasm $w.wat
done
