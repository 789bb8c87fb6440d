package jobs

import (
	"fmt"
	"path"
	"strings"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Phase types.
const (
	Map    = "map"
	Reduce = "reduce"
)

// MaxReducers bounds the tasks of a reduce phase.
const MaxReducers = 128

// MaxRetries bounds Spec.Retries.
const MaxRetries = 10

// InfraRetries is how many times an infrastructure failure is retried.
const InfraRetries = 3

// Spec is what a caller submits (POST /api/v1/jobs).
type Spec struct {
	// Inputs are objects (s3://B/K), prefixes (s3://B/P/) or globs
	// (s3://B/logs/2026-*.gz, matched with path.Match after listing the
	// prefix before the first glob character). Prefixes and globs skip
	// the default outputs of earlier jobs (.insitu-jobs/...).
	Inputs []string `json:"inputs"`
	// Out is the prefix outputs go under (s3://B/PREFIX/); default
	// s3://<first input's bucket>/.insitu-jobs/<id>/.
	Out    string  `json:"out,omitempty"`
	Phases []Phase `json:"phases"`
	// Retries is how many times a task whose guest failed is run again.
	Retries int `json:"retries,omitempty"`
}

// Phase is one stage of a job.
type Phase struct {
	Type string            `json:"type"` // map or reduce
	App  string            `json:"app"`  // [owner/]name[:version]
	Args []string          `json:"args,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
	// Limits override the app's, field by field.
	Limits apps.LimitSpec `json:"limits,omitzero"`
	// Concurrency caps this phase's runs at once (0: the node's slots).
	Concurrency int `json:"concurrency,omitempty"`
	// Assets are objects mounted read-only in every run of the phase,
	// under /in/assets/<base name>.
	Assets []string `json:"assets,omitempty"`
	// Reducers is the number of reduce tasks (default 1, at most 128).
	Reducers int `json:"reducers,omitempty"`
	// Partition sends each key<TAB>value line to the one reducer its key
	// hashes to, instead of a range of whole upstream outputs.
	Partition bool `json:"partition,omitempty"`
}

// phasePlan is a validated phase.
type phasePlan struct {
	Phase
	limits sandbox.Limits
	assets []runs.ObjectRef
}

// validate checks spec and returns the phases with parsed limits and assets.
func (s *Spec) validate() ([]phasePlan, error) {
	if len(s.Inputs) == 0 {
		return nil, bad("a job needs at least one input")
	}
	if len(s.Phases) == 0 {
		return nil, bad("a job needs at least one phase")
	}
	if s.Retries < 0 || s.Retries > MaxRetries {
		return nil, bad("retries must be between 0 and %d", MaxRetries)
	}
	out := make([]phasePlan, len(s.Phases))
	for i, p := range s.Phases {
		p.Type = strings.ToLower(p.Type)
		switch p.Type {
		case Map:
			if p.Reducers != 0 || p.Partition {
				return nil, bad("phase %d: reducers and partition are for reduce phases", i)
			}
		case Reduce:
			if i == 0 {
				return nil, bad("phase 0 must be a map phase (a reduce reads the previous phase)")
			}
			if p.Reducers == 0 {
				p.Reducers = 1
			}
			if p.Reducers < 1 || p.Reducers > MaxReducers {
				return nil, bad("phase %d: reducers must be between 1 and %d", i, MaxReducers)
			}
		default:
			return nil, bad("phase %d: type must be map or reduce, not %q", i, p.Type)
		}
		if p.App == "" {
			return nil, bad("phase %d: no app", i)
		}
		if p.Concurrency < 0 {
			return nil, bad("phase %d: negative concurrency", i)
		}
		lim, err := p.Limits.Apply(sandbox.Limits{})
		if err != nil {
			return nil, bad("phase %d: %v", i, err)
		}
		pp := phasePlan{Phase: p, limits: lim}
		for _, a := range p.Assets {
			ref, err := runs.ParseS3URL(a)
			if err != nil || ref.Key == "" || strings.HasSuffix(ref.Key, "/") {
				return nil, bad("phase %d: asset %q is not an s3://BUCKET/KEY object", i, a)
			}
			pp.assets = append(pp.assets, ref)
		}
		out[i] = pp
	}
	return out, nil
}

// bad returns a runs.ErrBadRequest error, which the API maps to 400.
func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", runs.ErrBadRequest, fmt.Sprintf(format, args...))
}

// assetInputs mounts the phase's assets under /in/assets/<base name>.
func (p *phasePlan) assetInputs() []runs.InputSpec {
	in := make([]runs.InputSpec, 0, len(p.assets)+1)
	for _, a := range p.assets {
		in = append(in, runs.InputSpec{Object: a, Path: "assets/" + path.Base(a.Key)})
	}
	return in
}
