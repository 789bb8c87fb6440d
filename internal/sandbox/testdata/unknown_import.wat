;; Imports a host function insitu does not provide: Validate refuses it.
(module
  (import "env" "launch_missiles" (func $launch (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $launch (i32.const 1)))))
