package ui

import (
	"cmp"
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/cluster"
	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Runner is what the dashboard needs of the runs service (*runs.Service):
// the same Run, List and Get the native API calls, under the same
// ownership rule (an account reads only its own records). A Runner that
// is also an OpenWith gets the open-with bindings on the bucket and
// object pages.
type Runner interface {
	Run(ctx context.Context, req runs.Request) (*runs.Record, error)
	List(ctx context.Context, account string, limit int, after string) ([]runs.Record, string, error)
	Get(ctx context.Context, account, id string) (*runs.Record, error)
}

// Options tune sessions; zero fields take the defaults.
type Options struct {
	// Idle ends a session unused this long. Default DefaultIdle (12 h).
	Idle time.Duration
	// MaxAge ends a session this long after sign-in. Default
	// DefaultMaxAge (24 h).
	MaxAge time.Duration
	// Now is the clock. Default time.Now; tests move it.
	Now func() time.Time
	// LiveEvery is how often a live stream (stream.go) sends what
	// changed. Default 1 s; tests shorten it.
	LiveEvery time.Duration
}

// Config is what the dashboard reads and acts on.
type Config struct {
	Accounts *auth.Accounts
	// RemoveAccount removes an account the way `insitu admin user rm`
	// does (the native API's api.Handler.RemoveAccount: root and an
	// account that still owns buckets, apps or services are refused).
	// Nil: the accounts page offers no removal.
	RemoveAccount func(ctx context.Context, name string) error
	Engine        store.Engine
	Runs          Runner
	// Jobs is the jobs service; nil shows "this node does not run jobs".
	Jobs Jobs
	// Services is the services manager; nil shows "no services".
	Services Services
	// Instances is the instance lifecycle the EC2 face calls; nil shows
	// "no instances".
	Instances ec2api.Instances
	// Apps is the app registry: the apps page, and a run's declared
	// limits. Optional.
	Apps AppRegistry
	// Status is the cluster as `insitu cluster status` shows it (a node
	// alone passes a one-node status). Nil shows no nodes.
	Status func(ctx context.Context) (cluster.Status, error)
	// BucketDeleted is called after the dashboard deletes a bucket, as the
	// S3 face does (open-with bindings go with it). Optional.
	BucketDeleted func(ctx context.Context, bucket string)
	// ValidBucketName applies the S3 face's naming rules to new buckets.
	ValidBucketName func(string) bool
	// Sessions, when set, keeps sessions (meta.Store: etcd in a cluster),
	// so every node accepts them; nil keeps them in this node's memory.
	Sessions meta.Store
	// Requests is the node's last hour of requests (obs.Metrics.Recent),
	// drawn on the overview with the account's failed requests. Optional.
	Requests *obs.Recent
	Region   string
	Logger   *slog.Logger
	Options
}

// Handler serves /ui/. Build it with New.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	sessions *sessions
	pages    *pages
	mux      *http.ServeMux
	static   http.Handler
	cross    *http.CrossOriginProtection
	// byAddress and byKey limit sign-in attempts (loginPerAddress,
	// loginPerKey a minute).
	byAddress, byKey *limiter
	// closed ends the live streams (Close); closeOnce and shutdownOnce
	// guard closing it and registering Close with the http.Server.
	closed                  chan struct{}
	closeOnce, shutdownOnce sync.Once
}

// New returns the dashboard handler.
func New(cfg Config) *Handler {
	cfg.Idle = cmp.Or(cfg.Idle, DefaultIdle)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, DefaultMaxAge)
	cfg.LiveEvery = cmp.Or(cfg.LiveEvery, streamEvery)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sub, _ := fs.Sub(staticFS, "static")
	h := &Handler{cfg: cfg, log: cfg.Logger, sessions: newSessions(cfg.Sessions, cfg.Idle, cfg.MaxAge, cfg.Now), pages: parsePages(),
		byAddress: newLimiter(loginPerAddress, loginWindow, limiterMax, cfg.Now), byKey: newLimiter(loginPerKey, loginWindow, limiterMax, cfg.Now),
		mux: http.NewServeMux(), static: http.StripPrefix("/ui/static/", http.FileServerFS(sub)), cross: http.NewCrossOriginProtection(), closed: make(chan struct{})}
	h.routes()
	return h
}

// Serves reports whether path belongs to the dashboard.
func Serves(path string) bool { return path == "/ui" || len(path) >= 4 && path[:4] == "/ui/" }

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /ui/{$}", h.page(h.overview))
	h.mux.HandleFunc("GET /ui/login", h.loginForm)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/logout", h.change(h.logout))
	h.mux.HandleFunc("GET /ui/buckets", h.page(h.buckets))
	h.mux.HandleFunc("POST /ui/buckets", h.change(h.createBucket))
	h.mux.HandleFunc("POST /ui/buckets/{bucket}/delete", h.change(h.deleteBucket))
	h.mux.HandleFunc("GET /ui/b/{bucket}/{$}", h.page(h.objects))
	h.mux.HandleFunc("GET /ui/b/{bucket}/object", h.page(h.object))
	h.mux.HandleFunc("GET /ui/b/{bucket}/download", h.page(h.download))
	h.mux.HandleFunc("GET /ui/b/{bucket}/image", h.page(h.image))
	h.mux.HandleFunc("POST /ui/b/{bucket}/delete", h.change(h.deleteObject))
	h.mux.HandleFunc("POST /ui/b/{bucket}/delete-version", h.change(h.deleteVersion))
	h.mux.HandleFunc("POST /ui/b/{bucket}/run", h.change(h.runApp))
	h.mux.HandleFunc("POST /ui/b/{bucket}/presign", h.change(h.presign))
	h.mux.HandleFunc("POST /ui/b/{bucket}/open-with", h.change(h.setBinding))
	h.mux.HandleFunc("POST /ui/b/{bucket}/open-with/delete", h.change(h.removeBinding))
	h.mux.HandleFunc("GET /ui/accounts", h.page(h.accounts))
	h.mux.HandleFunc("POST /ui/accounts", h.change(h.addAccount))
	h.mux.HandleFunc("POST /ui/accounts/{name}/rotate", h.change(h.rotateKey))
	h.mux.HandleFunc("POST /ui/accounts/{name}/caps", h.change(h.setCaps))
	h.mux.HandleFunc("GET /ui/accounts/{name}/remove", h.page(h.confirmRemoveAccount))
	h.mux.HandleFunc("POST /ui/accounts/{name}/remove", h.change(h.removeAccount))
	h.mux.HandleFunc("GET /ui/apps", h.page(h.appList))
	h.mux.HandleFunc("POST /ui/apps", h.changeUpTo(maxPushBytes, h.pushApp))
	h.mux.HandleFunc("POST /ui/apps/{name}/{version}/delete", h.change(h.removeApp))
	h.mux.HandleFunc("GET /ui/runs", h.page(h.runList))
	h.mux.HandleFunc("GET /ui/runs/{id}", h.page(h.runDetail))
	h.mux.HandleFunc("GET /ui/jobs", h.page(h.jobList))
	h.mux.HandleFunc("POST /ui/jobs", h.change(h.startJob))
	h.mux.HandleFunc("GET /ui/jobs/{id}", h.page(h.jobDetail))
	h.mux.HandleFunc("GET /ui/jobs/{id}/progress", h.page(h.jobFragment))
	h.mux.HandleFunc("GET /ui/jobs/{id}/events", h.live(h.jobEvents))
	h.mux.HandleFunc("POST /ui/jobs/{id}/cancel", h.change(h.cancelJob))
	h.mux.HandleFunc("GET /ui/services", h.page(h.serviceList))
	h.mux.HandleFunc("POST /ui/services", h.change(h.createService))
	h.mux.HandleFunc("GET /ui/services/{name}", h.page(h.serviceDetail))
	h.mux.HandleFunc("POST /ui/services/{name}", h.change(h.updateService))
	h.mux.HandleFunc("POST /ui/services/{name}/delete", h.change(h.deleteService))
	h.mux.HandleFunc("GET /ui/services/{name}/stats", h.page(h.serviceStats))
	h.mux.HandleFunc("GET /ui/services/{name}/events", h.live(h.serviceEvents))
	h.mux.HandleFunc("GET /ui/instances", h.page(h.instanceList))
	h.mux.HandleFunc("POST /ui/instances", h.change(h.launchInstance))
	h.mux.HandleFunc("GET /ui/instances/{id}", h.page(h.instanceDetail))
	h.mux.HandleFunc("POST /ui/instances/{id}/{action}", h.change(h.instanceAction))
	h.mux.Handle("GET /ui/static/", h.static)
	h.mux.HandleFunc("/ui/", h.page(func(*call) error {
		return &userError{status: http.StatusNotFound, msg: "There is no such page in the dashboard."}
	}))
}

// ServeHTTP serves one dashboard request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	h.mux.ServeHTTP(w, r)
}
