package instances_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/instances"
)

// metadata GETs path from the instance's metadata socket.
func metadata(t *testing.T, sock, path string) (int, string) {
	t.Helper()
	code, body, err := tryMetadata(sock, path)
	if err != nil {
		t.Fatalf("metadata %s: %v", path, err)
	}
	return code, body
}

func tryMetadata(sock, path string) (int, string, error) {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://169.254.169.254" + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestGuestPowerOffAndRestart: a machine that exits on its own makes its
// instance stopped; a node restart adopts the machines that still run
// (running, metadata served again) and stops the records of those that
// ended while it was away.
func TestGuestPowerOffAndRestart(t *testing.T) {
	ctx := context.Background()
	hv := instances.NewFakeHypervisor()
	dir := t.TempDir()
	e := start(t, dir, hv, 0)
	in := runInput()
	in.MinCount, in.MaxCount = aws.Int32(3), aws.Int32(3)
	in.UserData = b64("hello")
	run := must[*ec2.RunInstancesOutput](t)(e.ec2.RunInstances(ctx, in))
	all := ids(run.Instances)
	for _, id := range all {
		waitState(ctx, t, e.ec2, id, types.InstanceStateNameRunning)
	}
	// A guest power-off.
	hv.Machine(all[0]).Exit()
	st := waitState(ctx, t, e.ec2, all[0], types.InstanceStateNameStopped)
	if st.StateReason == nil || aws.ToString(st.StateReason.Code) != "Client.InstanceInitiatedShutdown" {
		t.Fatalf("reason: %+v", st.StateReason)
	}

	// The node goes; its machines stay.
	kept, gone := all[1], all[2]
	sock := hv.Machine(kept).Spec.MetadataCmd[2]
	if code, body := metadata(t, sock, "/latest/meta-data/instance-id"); code != 200 || body != kept {
		t.Fatalf("metadata before restart: %d %q", code, body)
	}
	e.node.Stop()
	if hv.Machine(kept).Exited() || hv.Machine(gone).Exited() {
		t.Fatal("stopping the node stopped a machine")
	}
	hv.Machine(gone).Exit()

	e = start(t, dir, hv, 0)
	if got := waitState(ctx, t, e.ec2, kept, types.InstanceStateNameRunning); got.StateReason != nil {
		t.Fatalf("adopted with a reason: %+v", got.StateReason)
	}
	st = waitState(ctx, t, e.ec2, gone, types.InstanceStateNameStopped)
	if st.StateReason == nil || aws.ToString(st.StateReason.Code) != "Server.InternalError" {
		t.Fatalf("lost machine's reason: %+v", st.StateReason)
	}
	if hv.Starts() != 3 {
		t.Fatalf("a restart booted machines again: %d starts", hv.Starts())
	}
	waitFor(t, "metadata served after the restart", func() bool {
		code, body, err := tryMetadata(sock, "/latest/meta-data/instance-id")
		return err == nil && code == 200 && body == kept
	})
	if code, body := metadata(t, sock, "/latest/user-data"); code != 200 || body != "hello" {
		t.Fatalf("user data: %d %q", code, body)
	}
	if filepath.Base(filepath.Dir(sock)) != kept {
		t.Fatalf("socket %s", sock)
	}
	// The adopted machine is driven as before.
	must[*ec2.TerminateInstancesOutput](t)(e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: all}))
	for _, id := range all {
		waitState(ctx, t, e.ec2, id, types.InstanceStateNameTerminated)
	}
	if !hv.Machine(kept).Exited() {
		t.Fatal("terminate left the adopted machine running")
	}
}
