package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// inProcessWC runs wc.wasm with wazero inside this process, compiled once
// and instantiated per run as the workers do, but with no worker process
// around it: the floor of the worker path, without its termination
// guarantee. close releases the wazero runtime.
func (e *benchEnv) inProcessWC(ctx context.Context, input []byte, want string) (fn runner, close func(), err error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, nil, err
	}
	cm, err := rt.CompileModule(ctx, e.wc.wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, nil, err
	}
	fn = func(ctx context.Context, out *bytes.Buffer) error {
		out.Reset()
		cfg := wazero.NewModuleConfig().WithName("").WithArgs("wc").
			WithStdin(bytes.NewReader(input)).WithStdout(out).
			WithSysWalltime().WithSysNanotime().WithSysNanosleep()
		mod, err := rt.InstantiateModule(ctx, cm, cfg)
		if mod != nil {
			mod.Close(ctx)
		}
		var exit *sys.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 0) {
			return err
		}
		if out.String() != want {
			return fmt.Errorf("in-process wc: wrong output %q, want %q", out.String(), want)
		}
		return nil
	}
	return fn, func() { rt.Close(context.Background()) }, nil
}
