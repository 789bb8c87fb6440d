package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/cluster"
)

// Cluster is what the API needs of a node's cluster membership; nil
// when the node runs alone.
type Cluster interface {
	Status(ctx context.Context) (cluster.Status, error)
	Drain(ctx context.Context, node string, on bool) error
	// Holders names the nodes holding the newest copy of an object.
	Holders(ctx context.Context, bucket, key string) ([]string, error)
}

// routeCluster serves the cluster's status to every account, draining to
// root, and an object's replicas to its bucket's owner.
func (h *Handler) routeCluster(c Cluster) {
	if c == nil {
		return
	}
	h.route("GET /api/v1/cluster", "ClusterStatus", false, func(call *call) error {
		st, err := c.Status(call.ctx)
		if err != nil {
			return err
		}
		writeJSON(call.w, http.StatusOK, st)
		return nil
	})
	drain := func(on bool) handlerFunc {
		return func(call *call) error {
			err := c.Drain(call.ctx, call.r.PathValue("name"), on)
			if errors.Is(err, cluster.ErrNoSuchNode) {
				return &Error{Status: http.StatusNotFound, Code: "NoSuchNode", Message: "no such node"}
			}
			if err != nil {
				return err
			}
			writeJSON(call.w, http.StatusOK, map[string]any{"node": call.r.PathValue("name"), "draining": on})
			return nil
		}
	}
	h.route("POST /api/v1/cluster/nodes/{name}/drain", "DrainNode", true, drain(true))
	h.route("DELETE /api/v1/cluster/nodes/{name}/drain", "UndrainNode", true, drain(false))
	h.route("GET /api/v1/replicas", "ObjectReplicas", false, func(call *call) error {
		q := call.r.URL.Query()
		if err := auth.OwnsBucket(call.ctx, h.engine, call.account.ID, q.Get("bucket")); err != nil {
			return err
		}
		names, err := c.Holders(call.ctx, q.Get("bucket"), q.Get("key"))
		if err != nil {
			return err
		}
		writeJSON(call.w, http.StatusOK, map[string]any{"bucket": q.Get("bucket"), "key": q.Get("key"), "replicas": names})
		return nil
	})
}
