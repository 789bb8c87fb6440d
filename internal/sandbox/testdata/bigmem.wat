;; Grows its memory past the worker's heap threshold (16 MiB) to 24 MiB,
;; writes its address every 4 KiB, grows again to 96 MiB, and checks that
;; every mark survived the move and that the new part reads as zero.
;; Exit codes: 0 intact, 1 a mark was lost, 2 the new part was not zero,
;; 3 a grow failed.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $fill (param $from i32) (param $to i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
      (i32.store (local.get $from) (local.get $from))
      (local.set $from (i32.add (local.get $from) (i32.const 4096)))
      (br $next))))
  ;; $check returns the first address in [from, to) (step 4 KiB) whose
  ;; word is not what is expected (its address when $marked, else 0), or -1.
  (func $check (param $from i32) (param $to i32) (param $marked i32) (result i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
      (if (i32.ne (i32.load (local.get $from))
                  (select (local.get $from) (i32.const 0) (local.get $marked)))
        (then (return (local.get $from))))
      (local.set $from (i32.add (local.get $from) (i32.const 4096)))
      (br $next)))
    (i32.const -1))
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 383)) (i32.const -1)) (then (call $exit (i32.const 3))))
    (call $fill (i32.const 0) (i32.const 25165824))
    (if (i32.eq (memory.grow (i32.const 1152)) (i32.const -1)) (then (call $exit (i32.const 3))))
    (if (i32.ne (call $check (i32.const 0) (i32.const 25165824) (i32.const 1)) (i32.const -1))
      (then (call $exit (i32.const 1))))
    (if (i32.ne (call $check (i32.const 25165824) (i32.const 100663296) (i32.const 0)) (i32.const -1))
      (then (call $exit (i32.const 2))))
    (call $exit (i32.const 0))))
