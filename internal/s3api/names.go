package s3api

import (
	"net/netip"
	"strings"
)

// reserved are first path segments that belong to other faces of the node
// (see DESIGN.md, "One process, several faces"); no bucket may take them.
var reserved = map[string]bool{
	"api": true, "services": true, "svc": true, "ui": true,
	"metrics": true, "healthz": true, "readyz": true,
}

func isReserved(name string) bool { return reserved[name] }

// validBucketName applies S3's naming rules for new buckets.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || reserved[name] {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' || c == '.':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

// ValidBucketName reports whether name may be given to a new bucket under
// S3's naming rules and the node's reserved paths (the dashboard uses it).
func ValidBucketName(name string) bool { return validBucketName(name) }
