#!/bin/sh
# Rebuilds the test guests (needs Debian's clang-14 and wasi-libc for the C
# guest, wabt's wat2wasm for the hand-written ones).
set -e
cd "$(dirname "$0")"
clang-14 --target=wasm32-wasi -O2 -Wl,--strip-all -o cgitool.wasm cgitool.c
wat2wasm rawcat.wat -o rawcat.wasm
