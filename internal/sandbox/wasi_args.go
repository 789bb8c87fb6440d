package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// WASI errnos the argument functions return.
const (
	errnoSuccess = 0
	errnoFault   = 21 // EFAULT: a pointer outside linear memory
)

// instantiateWASI adds wasi_snapshot_preview1 to the worker's runtime:
// wazero's functions, except that args_* and environ_* read the current
// run's arguments and environment (w.args, w.env) instead of the values
// fixed in the instance's ModuleConfig. That is what lets an instance be
// made before its run is known (ahead.go). Those fields are set by the
// worker's only goroutine before the guest starts and never change while
// it runs.
func (w *worker) instantiateWASI(ctx context.Context) error {
	b := w.rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	i32 := api.ValueTypeI32
	two, one := []api.ValueType{i32, i32}, []api.ValueType{i32}
	export := func(name string, f func(api.Module, uint32, uint32) uint32) {
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, stack []uint64) {
			stack[0] = uint64(f(m, uint32(stack[0]), uint32(stack[1])))
		}), two, one).Export(name)
	}
	export("args_sizes_get", func(m api.Module, n, size uint32) uint32 { return writeSizes(m, w.args, n, size) })
	export("args_get", func(m api.Module, ptrs, buf uint32) uint32 { return writeStrings(m, w.args, ptrs, buf) })
	export("environ_sizes_get", func(m api.Module, n, size uint32) uint32 { return writeSizes(m, w.env, n, size) })
	export("environ_get", func(m api.Module, ptrs, buf uint32) uint32 { return writeStrings(m, w.env, ptrs, buf) })
	_, err := b.Instantiate(ctx)
	return err
}

// writeSizes stores how many values there are at n and their total size,
// each with its NUL terminator, at size.
func writeSizes(m api.Module, vals []string, n, size uint32) uint32 {
	total := 0
	for _, v := range vals {
		total += len(v) + 1
	}
	mem := m.Memory()
	if !mem.WriteUint32Le(n, uint32(len(vals))) || !mem.WriteUint32Le(size, uint32(total)) {
		return errnoFault
	}
	return errnoSuccess
}

// writeStrings stores the values NUL-terminated one after another from
// buf, and at ptrs the address of each.
func writeStrings(m api.Module, vals []string, ptrs, buf uint32) uint32 {
	total := 0
	for _, v := range vals {
		total += len(v) + 1
	}
	mem := m.Memory()
	offs, ok := mem.Read(ptrs, uint32(4*len(vals)))
	if !ok {
		return errnoFault
	}
	dst, ok := mem.Read(buf, uint32(total))
	if !ok {
		return errnoFault
	}
	at := 0
	for i, v := range vals {
		binary.LittleEndian.PutUint32(offs[4*i:], buf+uint32(at))
		at += copy(dst[at:], v)
		dst[at] = 0
		at++
	}
	return errnoSuccess
}

// bindArgsEnv sets the run's arguments and environment. Env entries are
// KEY=VALUE (no "=" means an empty value); a key given twice keeps its
// first position and its last value. A NUL byte anywhere is refused: the
// guest could not tell where a value ends.
func (w *worker) bindArgsEnv(args, env []string) error {
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return errors.New("args invalid: contains NUL character")
		}
	}
	w.args = args
	w.env = w.env[:0]
	for _, kv := range env {
		if strings.IndexByte(kv, 0) >= 0 {
			return errors.New("environ invalid: contains NUL character")
		}
		k, _, ok := strings.Cut(kv, "=")
		if k == "" {
			return errors.New("environ invalid: empty key")
		}
		if !ok {
			kv += "="
		}
		w.env = setEnv(w.env, k, kv)
	}
	return nil
}

// setEnv replaces the entry of key k in env by kv (k=...), or appends it.
func setEnv(env []string, k, kv string) []string {
	for i, old := range env {
		if len(old) > len(k) && old[len(k)] == '=' && old[:len(k)] == k {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}
