package s3api

import "net/http"

func (h *Handler) postObject(w http.ResponseWriter, r *http.Request, bucket string) {
	writeError(w, r, errNotImplemented)
}
