package instances

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// newID returns prefix + 17 lower-case hex digits, as EC2's ids
// (i- instances, r- reservations).
func newID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])[:17]
}

// validID reports whether id is i- followed by 8 or 17 lower-case hex
// digits (EC2's two id lengths).
func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, "i-")
	if !ok || (len(rest) != 8 && len(rest) != 17) {
		return false
	}
	for _, c := range rest {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func errMalformed(id string) error {
	return ec2api.BadRequest("InvalidInstanceID.Malformed", "Invalid id: \"%s\" (expecting \"i-...\")", id)
}

func errNotFound(id string) error {
	return ec2api.BadRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
}

func errIncorrectState(id, state, action string) error {
	return ec2api.BadRequest("IncorrectInstanceState",
		"The instance '%s' is not in a state from which it can be %s (it is %s).", id, action, state)
}
