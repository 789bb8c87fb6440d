package s3api

import (
	"encoding/xml"
	"io"
	"net/http"
)

// maxDeleteBody bounds a DeleteObjects request body (1000 keys of 1 KiB
// plus markup fit well below it).
const maxDeleteBody = 2 << 20

func (h *Handler) deleteObject(req *request) error {
	vid := req.q.Get("versionId")
	if vid != "" && vid != "null" {
		return apiErr(http.StatusBadRequest, "InvalidArgument", "Invalid version id specified")
	}
	if err := h.engine.DeleteObject(req.ctx, req.bucket, req.key); err != nil {
		return err
	}
	if vid != "" {
		req.w.Header().Set("x-amz-version-id", vid)
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseDeleteRequest decodes a DeleteObjects body.
func parseDeleteRequest(body []byte) (deleteRequest, error) {
	var d deleteRequest
	if err := xml.Unmarshal(body, &d); err != nil {
		return d, errMalformedXML
	}
	if len(d.Objects) == 0 || len(d.Objects) > 1000 {
		return d, errMalformedXML
	}
	return d, nil
}

func (h *Handler) deleteObjects(req *request) error {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, maxDeleteBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxDeleteBody {
		return errMalformedXML
	}
	d, err := parseDeleteRequest(body)
	if err != nil {
		return err
	}
	res := deleteResult{NS: s3NS}
	for _, o := range d.Objects {
		switch {
		case o.Key == "":
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, Code: "InvalidArgument", Message: "Key is empty"})
			continue
		case len(o.Key) > 1024:
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, Code: errKeyTooLong.Code, Message: errKeyTooLong.Message})
			continue
		case o.VersionID != "" && o.VersionID != "null":
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, VersionID: o.VersionID, Code: "NoSuchVersion", Message: "The specified version does not exist."})
			continue
		}
		err := h.authorize(req, req.bucket, o.Key, "s3:DeleteObject")
		if err == nil {
			err = h.engine.DeleteObject(req.ctx, req.bucket, o.Key)
		}
		if err != nil {
			ae := toAPIError(err)
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, VersionID: o.VersionID, Code: ae.Code, Message: ae.Message})
			continue
		}
		if !d.Quiet {
			res.Deleted = append(res.Deleted, deletedEntry{Key: o.Key, VersionID: o.VersionID})
		}
	}
	writeXML(req.w, res)
	return nil
}
