package instances_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/instances"
)

// TestConsoleTrimmedWhileRunning: a running guest that has written 5 MiB
// to its console has the file cut back to its last 64 KiB by the node's
// converge loop (so it cannot fill the disk), and GetConsoleOutput still
// returns the newest lines.
func TestConsoleTrimmedWhileRunning(t *testing.T) {
	ctx := context.Background()
	e := start(t, "", instances.NewFakeHypervisor(), 0)
	run := must[*ec2.RunInstancesOutput](t)(e.ec2.RunInstances(ctx, runInput()))
	id := aws.ToString(run.Instances[0].InstanceId)
	waitState(ctx, t, e.ec2, id, types.InstanceStateNameRunning)
	path := filepath.Join(e.hv.Machine(id).Spec.Dir, "console.log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	noise := bytes.Repeat([]byte("x"), 5<<20)
	if _, err := f.Write(append(noise, "the newest line\n"...)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	waitFor(t, "the console cut back", func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Size() <= 64<<10
	})
	con := must[*ec2.GetConsoleOutputOutput](t)(e.ec2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: &id}))
	out, _ := base64.StdEncoding.DecodeString(aws.ToString(con.Output))
	if !bytes.HasSuffix(out, []byte("the newest line\n")) || len(out) > 64<<10 {
		t.Fatalf("console: %d bytes ending %q", len(out), out[max(len(out)-20, 0):])
	}
}
