package s3api

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/store"
)

// objectAttributes are the names x-amz-object-attributes may list.
var objectAttributes = map[string]bool{"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true}

type getObjectAttributesResponse struct {
	XMLName      xml.Name            `xml:"GetObjectAttributesResponse"`
	NS           string              `xml:"xmlns,attr"`
	ETag         string              `xml:"ETag,omitempty"`
	Checksum     *attributesChecksum `xml:"Checksum,omitempty"`
	ObjectParts  *attributesObjParts `xml:"ObjectParts,omitempty"`
	StorageClass string              `xml:"StorageClass,omitempty"`
	ObjectSize   *int64              `xml:"ObjectSize,omitempty"`
}

type attributesChecksum struct {
	checksumFields
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type attributesObjParts struct {
	PartsCount           int              `xml:"PartsCount"`
	PartNumberMarker     int              `xml:"PartNumberMarker"`
	NextPartNumberMarker int              `xml:"NextPartNumberMarker"`
	MaxParts             int              `xml:"MaxParts"`
	IsTruncated          bool             `xml:"IsTruncated"`
	Parts                []attributesPart `xml:"Part"`
}

type attributesPart struct {
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
	checksumFields
}

// parseObjectAttributes reads x-amz-object-attributes (comma-separated,
// repeatable): at least one name, each one S3 knows.
func parseObjectAttributes(h http.Header) (map[string]bool, error) {
	want := map[string]bool{}
	for _, v := range h.Values("X-Amz-Object-Attributes") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			if !objectAttributes[name] {
				return nil, apiErr(http.StatusBadRequest, "InvalidArgument", "Invalid attribute name specified.")
			}
			want[name] = true
		}
	}
	if len(want) == 0 {
		return nil, apiErr(http.StatusBadRequest, "InvalidArgument",
			"The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	return want, nil
}

// getObjectAttributes serves GetObjectAttributes: the attributes named by
// x-amz-object-attributes, ObjectParts paged by x-amz-max-parts (default
// and cap 1000) and x-amz-part-number-marker.
func (h *Handler) getObjectAttributes(req *request) error {
	want, err := parseObjectAttributes(req.r.Header)
	if err != nil {
		return err
	}
	maxParts, marker, err := attributesPaging(req.r.Header)
	if err != nil {
		return err
	}
	vid, err := versionParam(req)
	if err != nil {
		return err
	}
	info, err := h.headVersion(req.ctx, req.bucket, req.key, vid)
	if err != nil {
		return err
	}
	setVersionHeader(req.w, info.VersionID)
	if err := checkConditions(req.r.Header, "", info, true); err != nil {
		return err
	}
	res := getObjectAttributesResponse{NS: s3NS}
	if want["ETag"] {
		res.ETag = info.ETag
	}
	if want["StorageClass"] {
		res.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		res.ObjectSize = &info.Size
	}
	if want["Checksum"] && info.Checksum.Algorithm != "" {
		c := &attributesChecksum{ChecksumType: info.Checksum.Type}
		c.set(info.Checksum.Algorithm, info.Checksum.Value)
		res.Checksum = c
	}
	if want["ObjectParts"] && len(info.Parts) > 0 {
		res.ObjectParts = objectPartsPage(info.Parts, marker, maxParts)
	}
	req.w.Header().Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	writeXML(req.w, res)
	return nil
}

// attributesPaging reads x-amz-max-parts and x-amz-part-number-marker.
func attributesPaging(h http.Header) (maxParts, marker int, err error) {
	maxParts = 1000
	if v := h.Get("X-Amz-Max-Parts"); v != "" {
		if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
			return 0, 0, apiErr(http.StatusBadRequest, "InvalidArgument", "Provided max-parts not an integer or within integer range")
		}
		maxParts = min(maxParts, 1000)
	}
	if v := h.Get("X-Amz-Part-Number-Marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return 0, 0, apiErr(http.StatusBadRequest, "InvalidArgument", "Provided part-number-marker not an integer or within integer range")
		}
	}
	return maxParts, marker, nil
}

// objectPartsPage lists the parts numbered above marker, at most maxParts.
func objectPartsPage(parts []store.PartInfo, marker, maxParts int) *attributesObjParts {
	op := &attributesObjParts{PartsCount: len(parts), PartNumberMarker: marker, MaxParts: maxParts}
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(op.Parts) == maxParts {
			op.IsTruncated = true
			break
		}
		ap := attributesPart{PartNumber: p.Number, Size: p.Size}
		ap.set(p.Checksum.Algorithm, p.Checksum.Value)
		op.Parts = append(op.Parts, ap)
		op.NextPartNumberMarker = p.Number
	}
	return op
}
