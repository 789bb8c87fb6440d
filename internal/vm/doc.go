// Package vm runs QEMU virtual machines that outlive the insitu process.
//
// A Machine is one qemu-system-x86_64 process serving one instance
// directory (Spec.Dir). Everything about it lives in that directory:
// disk.qcow2 (a copy-on-write overlay of the image's raw root disk, made
// once and kept across Stop/Start), console.log (the serial console,
// appended to, never truncated here), qemu.log (QEMU's own stdout and
// stderr), qmp.sock (the QMP control socket), qemu.pid (written by QEMU,
// removed by QEMU when it exits) and forwards.json (the live hostfwd set,
// so a Machine adopted after a restart knows it).
//
// Start launches QEMU in its own session (setsid), so it keeps running
// when insitu exits or restarts; Adopt reattaches to it later through
// qmp.sock. Close drops the QMP connection and the exit watcher and
// leaves QEMU running; PowerDown, Kill and Reset act on the guest;
// SetForwards changes the TCP ports forwarded from the host to the guest
// while it runs.
//
// The guest network is QEMU's user-mode stack (slirp) with restrict=on:
// the guest reaches nothing outside the VM but the metadata address
// 169.254.169.254:80, which slirp connects to Spec.MetadataCmd (one
// process per connection, stdin and stdout AND stderr being the
// connection). Inbound, each Forward is a slirp hostfwd.
//
// Probe decides between KVM and TCG (software emulation): KVM only when
// /dev/kvm opens, the CPU advertises vmx or svm and a probe boot prints
// on the serial console.
//
// Concurrency: a Machine's methods are safe for concurrent use; QMP
// commands are serialized on one connection. At most one Machine may hold
// a directory's QMP socket at a time (QEMU serves one QMP client; a
// second Adopt waits for the greeting and times out).
package vm
