// Package cluster pools insitu nodes into one cloud (DESIGN.md, Cluster).
//
// It owns the pieces a node needs once it is not alone:
//
//   - the cluster secret and the signing of node-to-node calls (secret.go):
//     every internal request carries an HMAC over its method, path, query,
//     time, nonce and insitu headers; a verifier refuses stale times and
//     replayed nonces, and no user key is accepted on an internal endpoint;
//   - the control plane: an embedded etcd member, or a client of an
//     existing etcd cluster, started or joined (etcd.go);
//   - membership: each node's record under a lease, with capacity and use,
//     and the live view every node keeps of the others (members.go);
//   - the replicated object engine (engine*.go): placement by weighted,
//     zone-aware rendezvous hashing (placement.go), writes streamed to
//     every replica at once and acknowledged at a write quorum, reads that
//     take the newest stamp among the replicas (a hybrid logical clock,
//     hlc.go), listings merged across nodes, lifecycle expirations that
//     never beat a later write (engine_expire.go);
//   - repair and rebalance (repair.go): a background pass on every node
//     that restores the wanted number of replicas and moves objects to
//     their current placement, never dropping a copy before the new ones
//     are durable;
//   - elections (elect.go): one node at a time runs a cluster-wide task
//     (the lifecycle passes), under an etcd lease.
package cluster
