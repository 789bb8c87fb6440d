package app

import (
	"context"
	"sort"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// newEC2 builds the EC2 Query face (/services/compute). It has its own
// verifier: EC2 clients sign as service "ec2", every other face as "s3".
func (n *Node) newEC2() *ec2api.Handler {
	return ec2api.New(ec2api.Config{
		KV:        n.kv,
		Verifier:  &sigv4.Verifier{Keys: n.accounts, Region: n.cfg.Region, Services: []string{"ec2"}},
		Region:    n.cfg.Region,
		Zones:     n.zones,
		Objects:   n.engine,
		Instances: n.ec2Instances(),
		Logger:    n.log.With("component", "ec2api"),
	})
}

// zones lists the cloud's availability zones: the zones of the cluster's
// nodes (--zone turns cluster mode on, so a lone node with --zone reports
// it this way), or REGION + "a" for a node alone.
func (n *Node) zones(context.Context) ([]string, error) {
	if n.cluster == nil {
		return []string{n.cfg.Region + "a"}, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range n.cluster.Nodes() {
		if s.Zone != "" && !seen[s.Zone] {
			seen[s.Zone] = true
			out = append(out, s.Zone)
		}
	}
	sort.Strings(out)
	return out, nil
}
