package s3api

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/store"
)

// maxDeleteBody bounds a DeleteObjects request body (1000 keys of 1 KiB
// plus markup fit well below it).
const maxDeleteBody = 2 << 20

func (h *Handler) deleteObject(req *request) error {
	vid, err := versionParam(req)
	if err != nil {
		return err
	}
	res, err := h.deleteVersion(req.ctx, req.bucket, req.key, vid, h.bypass(req))
	if err != nil {
		return err
	}
	setVersionHeader(req.w, res.VersionID)
	if res.DeleteMarker {
		req.w.Header().Set("x-amz-delete-marker", "true")
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deletedEntry is DeleteObjects' report of a delete of key (version vid,
// "" for the key itself) that did dr.
func deletedEntry(key, vid string, dr store.DeleteResult) deletedXML {
	e := deletedXML{Key: key, VersionID: vid}
	if dr.DeleteMarker {
		e.DeleteMarker = true
		e.DeleteMarkerVersionID = dr.VersionID
	}
	return e
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
	bypass := bypassAsked(req)
	for _, o := range d.Objects {
		switch {
		case o.Key == "":
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, Code: "InvalidArgument", Message: "Key is empty"})
			continue
		case len(o.Key) > 1024:
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, Code: errKeyTooLong.Code, Message: errKeyTooLong.Message})
			continue
		}
		action := "s3:DeleteObject"
		if o.VersionID != "" {
			action = "s3:DeleteObjectVersion"
		}
		err := h.authorize(req, req.bucket, o.Key, action)
		var dr store.DeleteResult
		if err == nil {
			dr, err = h.deleteVersion(req.ctx, req.bucket, o.Key, o.VersionID, bypass && h.bypassKey(req, o.Key))
		}
		if errors.Is(err, store.ErrInvalidVersionID) || errors.Is(err, errInvalidVersionID) {
			err = apiErr(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
		}
		if err != nil {
			ae := toAPIError(err)
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, VersionID: o.VersionID, Code: ae.Code, Message: ae.Message})
			continue
		}
		if !d.Quiet {
			res.Deleted = append(res.Deleted, deletedEntry(o.Key, o.VersionID, dr))
		}
	}
	writeXML(req.w, res)
	return nil
}
