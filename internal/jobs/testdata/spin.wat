;; spin: a job test guest that never ends on its own. It loops without
;; reading stdin, so only its deadline or a cancel (the sandbox kills its
;; worker process) stops it. Rebuild with: wat2wasm -o spin.wasm spin.wat
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever (br $forever))))
