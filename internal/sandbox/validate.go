package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ModuleInfo describes a validated module.
type ModuleInfo struct {
	Size    int      // bytes of the module
	Imports []string // "module.name" of each imported function
	Exports []string // exported names, sorted
}

// ErrInvalidModule wraps every reason Validate refuses a module.
var ErrInvalidModule = errors.New("sandbox: not a valid WASI preview1 command module")

// Validate compiles wasm with a throwaway wazero runtime (nothing is
// instantiated) and refuses, with an error wrapping ErrInvalidModule, a
// module that is not a WASI preview1 command: one that imports anything
// other than wasi_snapshot_preview1 functions wazero implements (with
// their exact signatures), imports a memory, table or global, does not
// export a _start function taking and returning nothing, or does not
// export its memory. It is safe for concurrent use; compiling a large
// module can take seconds.
func Validate(ctx context.Context, wasm []byte) (ModuleInfo, error) {
	info := ModuleInfo{Size: len(wasm)}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	defer rt.Close(ctx)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return info, fmt.Errorf("sandbox: instantiate WASI: %w", err)
	}
	known := rt.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	mod, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return info, fmt.Errorf("%w: %v", ErrInvalidModule, err)
	}
	defer mod.Close(ctx)

	for _, f := range mod.ImportedFunctions() {
		m, name, _ := f.Import()
		info.Imports = append(info.Imports, m+"."+name)
		if m != wasi_snapshot_preview1.ModuleName {
			return info, fmt.Errorf("%w: imports %s.%s: only %s functions are available", ErrInvalidModule, m, name, wasi_snapshot_preview1.ModuleName)
		}
		def, ok := known[name]
		if !ok {
			return info, fmt.Errorf("%w: imports %s.%s, which WASI preview1 does not have", ErrInvalidModule, m, name)
		}
		if !sameTypes(def.ParamTypes(), f.ParamTypes()) || !sameTypes(def.ResultTypes(), f.ResultTypes()) {
			return info, fmt.Errorf("%w: imports %s.%s with the wrong signature", ErrInvalidModule, m, name)
		}
	}
	for _, mem := range mod.ImportedMemories() {
		m, name, _ := mem.Import()
		return info, fmt.Errorf("%w: imports memory %s.%s; a command must define its own", ErrInvalidModule, m, name)
	}
	for name := range mod.ExportedFunctions() {
		info.Exports = append(info.Exports, name)
	}
	for name := range mod.ExportedMemories() {
		info.Exports = append(info.Exports, name)
	}
	sort.Strings(info.Exports)
	start, ok := mod.ExportedFunctions()["_start"]
	if !ok {
		return info, fmt.Errorf("%w: no _start export (a WASI command, not a reactor or library, is required)", ErrInvalidModule)
	}
	if len(start.ParamTypes()) != 0 || len(start.ResultTypes()) != 0 {
		return info, fmt.Errorf("%w: _start must take and return nothing", ErrInvalidModule)
	}
	if len(mod.ExportedMemories()) == 0 {
		return info, fmt.Errorf("%w: no exported memory", ErrInvalidModule)
	}
	return info, nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
