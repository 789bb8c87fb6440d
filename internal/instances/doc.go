// Package instances is the instance lifecycle behind the EC2 face
// (ec2api.Instances): RunInstances and the other instance actions keep
// one record per instance in meta (ec2/instances/ACCOUNT/ID), and the
// node that holds an instance converges its virtual machine (internal/vm:
// QEMU) to the state its record asks for. Every address comes from a
// cluster-wide pool (ec2/addr/IP), every running instance gets an
// instance metadata server on a unix socket of its directory, and the
// ports its security groups allow are forwarded to the guest.
//
// Records are changed only by compare-and-swap. An action changes the
// record's state (running -> stopping, stopped -> pending, ...) and
// kicks the instance's node, whose converge step does the slow work
// (boot, power down, kill) under that instance's lock, then moves the
// record to the state that follows (running, stopped, terminated). A
// loop on every node (Config.ReconcileEvery, 1 s) converges every local
// record again and keeps each running machine's port forwards equal to
// its groups' rules, so a lost kick only delays.
package instances
