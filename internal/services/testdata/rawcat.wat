;; rawcat is a CGI guest for the services tests that copies its stdin (the
;; request body) to stdout unchanged, so a test writes the guest's whole CGI
;; response, header block included, as the request body. It reads and
;; writes up to 256 KiB at a time, so a large header arrives in one piece.
;; Build: wat2wasm rawcat.wat -o rawcat.wasm (see build.sh).
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 5)
  ;; 0: iovec {buf, len}; 8: bytes read/written; 16: write iovec;
  ;; 65536: the 256 KiB buffer.
  (func $write_all (param $off i32) (param $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store (i32.const 16) (local.get $off))
        (i32.store (i32.const 20) (local.get $n))
        (if (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8))
          (then unreachable))
        (local.set $off (i32.add (local.get $off) (i32.load (i32.const 8))))
        (local.set $n (i32.sub (local.get $n) (i32.load (i32.const 8))))
        (br $more))))
  (func (export "_start")
    (local $n i32)
    (block $eof
      (loop $more
        (i32.store (i32.const 0) (i32.const 65536))
        (i32.store (i32.const 4) (i32.const 262144))
        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
          (then unreachable))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $eof (i32.eqz (local.get $n)))
        (call $write_all (i32.const 65536) (local.get $n))
        (br $more)))))
