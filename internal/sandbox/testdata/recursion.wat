;; Exponential recursion with no loop instruction: f(n) calls f(n-1)
;; twice. f(64) never finishes, and no loop header exists for
;; WithCloseOnContextDone to check; only killing the worker stops it.
(module
  (memory (export "memory") 1)
  (func $f (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else
        (i32.add
          (call $f (i32.sub (local.get $n) (i32.const 1)))
          (call $f (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "_start")
    (drop (call $f (i32.const 64)))))
