package s3api

import (
	"log/slog"

	"github.com/insitu-cloud/insitu/internal/obs"
)

func logFrom(req *request) *slog.Logger { return obs.Logger(req.ctx) }
