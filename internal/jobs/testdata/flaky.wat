;; flaky: a job test guest that fails (exit 1) on about one run in four
;; and succeeds (exit 0) otherwise, chosen by bits 10-11 of the monotonic
;; clock (scheduling jitter at microsecond scale). Runs are independent,
;; so a job with --retries N sees some tasks fail first and succeed on a
;; later attempt. (The clock rather than WASI random_get: when this was
;; written the sandbox gave runs wazero's default random source, the same
;; bytes every run.) Rebuild: wat2wasm -o flaky.wasm flaky.wat
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
    (call $proc_exit
      (i64.eqz (i64.and (i64.shr_u (i64.load (i32.const 0)) (i64.const 10)) (i64.const 3))))))
