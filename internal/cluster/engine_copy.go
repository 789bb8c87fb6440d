package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/insitu-cloud/insitu/internal/store"
)

// push copies this node's copy of info's version (object or tombstone)
// to node t, exactly.
func (e *Engine) push(ctx context.Context, t NodeStatus, info store.ObjectInfo) error {
	if info.Deleted {
		return e.deleteAt(ctx, t, info.Bucket, info.Key, info.Stamp)
	}
	if info.DeleteMarker {
		return e.sendReplica(ctx, t, info, http.NoBody)
	}
	open := openLocal
	if info.VersionID != "" {
		open = openVersionLocal // by id: a newer version may be the latest here
	}
	rc, err := open(ctx, e.local, info, 0, info.Size)
	if err != nil {
		return err
	}
	return e.sendReplica(ctx, t, info, rc)
}

// sendReplica sends node t an exact copy of version info with its body
// rc (the framed head, then the bytes); a newer version held there is
// not an error. It owns rc: the HTTP client closes it (and so releases
// its buffer) once it has stopped reading it, which may be after an
// early answer returned.
func (e *Engine) sendReplica(ctx context.Context, t NodeStatus, info store.ObjectInfo, rc io.ReadCloser) error {
	head, err := json.Marshal(info)
	if err != nil {
		rc.Close()
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(head)))
	body := readCloser{io.MultiReader(bytes.NewReader(n[:]), bytes.NewReader(head), rc), rc}
	resp, err := e.c.stream(ctx, t, "PUT", "replica", url.Values{}, nil, body)
	if err != nil {
		if errors.Is(err, store.ErrSuperseded) {
			return nil // a newer version is there already
		}
		return err
	}
	resp.Body.Close()
	return nil
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// readReplicaHead reads the framed ObjectInfo that starts a replica body.
func readReplicaHead(r io.Reader) (store.ObjectInfo, error) {
	var info store.ObjectInfo
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return info, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 16<<20 {
		return info, fmt.Errorf("cluster: replica head of %d bytes", size)
	}
	head := make([]byte, size)
	if _, err := io.ReadFull(r, head); err != nil {
		return info, err
	}
	return info, json.Unmarshal(head, &info)
}

// place copies a version just made here (a completed multipart upload)
// to its other targets, and forgets the local copy when this node is not
// a target and every target took it. Below a quorum it logs and leaves
// the rest to repair: the version is durable here all the same.
func (c *Cluster) place(ctx context.Context, info store.ObjectInfo) error {
	e := c.engine
	targets := e.targets(info.Bucket, info.Key)
	ok, selfTarget := 0, false
	for _, t := range targets {
		if e.self(t) {
			ok, selfTarget = ok+1, true
			continue
		}
		if err := e.push(ctx, t, info); err != nil {
			c.log.Warn("placing a completed upload", "node", t.Name, "key", info.Key, "err", err)
			c.repairSoon()
			continue
		}
		ok++
	}
	if ok < quorum(len(targets)) {
		c.log.Warn("completed upload below its write quorum; repair will place it", "key", info.Key, "copies", ok)
	}
	if !selfTarget && ok == len(targets) && info.VersionID != "" {
		// Drop keeps versions; the version moved, so no tombstone of it
		return c.local.DropVersionCopy(ctx, info.Bucket, info.Key, info.VersionID, info.Stamp)
	}
	if !selfTarget && ok == len(targets) {
		return c.local.Drop(ctx, info.Bucket, info.Key, info.Stamp)
	}
	return nil
}
