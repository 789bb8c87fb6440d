package ec2api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
)

// Path is where the face is served (the Eucalyptus path).
const Path = "/services/compute"

// Serves reports whether a path-style request path is this face's: Path,
// with or without a trailing slash (an endpoint URL given with one).
func Serves(path string) bool { return path == Path || path == Path+"/" }

// maxBody caps a form-encoded request body (as sigv4.MaxBufferedPayload).
const maxBody = sigv4.MaxBufferedPayload

// Config wires a Handler.
type Config struct {
	// KV holds the face's state under ec2/. Required.
	KV meta.Store
	// Verifier authenticates requests; it should accept service "ec2"
	// only, in Region. Required.
	Verifier *sigv4.Verifier
	// Region is the region reported by DescribeRegions. Default
	// sigv4.DefaultRegion.
	Region string
	// Zones lists the availability zones of the cloud. Default: one zone,
	// Region+"a".
	Zones func(ctx context.Context) ([]string, error)
	// Objects is the object store RegisterImage reads manifests and image
	// files from (the node's store.Engine); nil answers RegisterImage
	// UnsupportedOperation.
	Objects Objects
	// Instances serves the instance actions; nil answers them
	// UnsupportedOperation.
	Instances Instances
	// Now is the clock of creation times. Default time.Now.
	Now func() time.Time
	// Logger receives internal errors. Default slog.Default().
	Logger *slog.Logger
}

// Handler serves the EC2 Query API. It is safe for concurrent use.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns a Handler, filling Config defaults.
func New(cfg Config) *Handler {
	if cfg.Region == "" {
		cfg.Region = sigv4.DefaultRegion
	}
	if cfg.Zones == nil {
		region := cfg.Region
		cfg.Zones = func(context.Context) ([]string, error) { return []string{region + "a"}, nil }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg, log: cfg.Logger}
}

// call is one authenticated request being served.
type call struct {
	ctx     context.Context
	action  string
	account string // the caller's account id: what records are kept under
	p       Params
	dryRun  bool
	host    string
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	obs.SetOp(ctx, "ec2", "unknown")
	reqID := obs.RequestID(ctx)
	c, err := h.parse(ctx, r)
	if err != nil {
		writeError(ctx, w, h.log, reqID, err)
		return
	}
	if _, ok := actions[c.action]; ok || instanceActions[c.action] {
		obs.SetOp(ctx, "ec2", c.action) // a metric label: known actions only
	}
	resp, err := h.dispatch(c)
	if err == nil {
		err = writeResponse(w, c.action, reqID, resp)
	}
	if err != nil {
		writeError(ctx, w, h.log, reqID, err)
	}
}

// parse authenticates r and reads its parameters.
func (h *Handler) parse(ctx context.Context, r *http.Request) (*call, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, errorf(http.StatusMethodNotAllowed, "InvalidAction", "The method %s is not allowed; use GET or POST.", r.Method)
	}
	res, err := h.cfg.Verifier.Verify(ctx, r)
	if err != nil {
		return nil, err
	}
	info := obs.FromContext(ctx)
	info.Account, info.AccountID = res.Credential.Account, res.Credential.AccountID
	p, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost {
		if err := readForm(res.Body, p); err != nil {
			return nil, err
		}
	}
	c := &call{ctx: ctx, account: res.Credential.AccountID, p: p, host: r.Host}
	if c.action, err = p.Required("Action"); err != nil {
		return nil, err
	}
	if _, err := p.Required("Version"); err != nil {
		return nil, err
	}
	if c.dryRun, err = p.Bool("DryRun"); err != nil {
		return nil, err
	}
	return c, nil
}

// readForm adds a form-encoded body (at most maxBody bytes) to p.
func readForm(body io.Reader, p Params) error {
	b, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return err
	}
	if len(b) > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "InvalidParameterValue", "The request body exceeds %d bytes.", maxBody)
	}
	form, err := ParseQuery(string(b))
	if err != nil {
		return err
	}
	return p.merge(form)
}

// action serves one EC2 action.
type action func(h *Handler, c *call) (Response, error)

// actions are the actions this face knows.
var actions = map[string]action{
	"DescribeRegions":               (*Handler).describeRegions,
	"DescribeAvailabilityZones":     (*Handler).describeZones,
	"DescribeInstanceTypes":         (*Handler).describeInstanceTypes,
	"CreateKeyPair":                 (*Handler).createKeyPair,
	"ImportKeyPair":                 (*Handler).importKeyPair,
	"DescribeKeyPairs":              (*Handler).describeKeyPairs,
	"DeleteKeyPair":                 (*Handler).deleteKeyPair,
	"CreateSecurityGroup":           (*Handler).createGroup,
	"DeleteSecurityGroup":           (*Handler).deleteGroup,
	"DescribeSecurityGroups":        (*Handler).describeGroups,
	"AuthorizeSecurityGroupIngress": (*Handler).authorizeIngress,
	"RevokeSecurityGroupIngress":    (*Handler).revokeIngress,
	"CreateTags":                    (*Handler).createTags,
	"DeleteTags":                    (*Handler).deleteTags,
	"DescribeTags":                  (*Handler).describeTags,
	"RegisterImage":                 (*Handler).registerImage,
	"DescribeImages":                (*Handler).describeImages,
	"DeregisterImage":               (*Handler).deregisterImage,
	"ModifyImageAttribute":          (*Handler).modifyImageAttribute,
	"DescribeImageAttribute":        (*Handler).describeImageAttribute,
}

func (h *Handler) dispatch(c *call) (Response, error) {
	if a, ok := actions[c.action]; ok {
		return a(h, c)
	}
	if instanceActions[c.action] {
		return h.instanceAction(c)
	}
	return nil, badRequest("InvalidAction", "The action %s is not valid for this web service.", c.action)
}

// foreign answers UnauthorizedOperation to a DryRun call that names
// another account's resource by id; it returns nil for a real call (which
// simply does not find it) and for ids of the caller or of nothing.
func (h *Handler) foreign(c *call, ids ...string) error {
	if !c.dryRun {
		return nil
	}
	for _, id := range ids {
		owner, err := h.ownerOf(c.ctx, id)
		if err != nil {
			return err
		}
		if owner != "" && owner != c.account {
			return errUnauthorized()
		}
	}
	return nil
}

// dry ends a DryRun call that got as far as its first change, where it
// would succeed: DryRunOperation. It returns nil for a real call.
func dry(c *call) error {
	if c.dryRun {
		return errDryRun()
	}
	return nil
}
