package auth

import "time"

// Caps are an account's own ceilings on run limits; a positive field
// replaces the node's default ceiling for that account. The fields mirror
// sandbox.Limits (same names, types and order, so runs converts with
// sandbox.Limits(c)) and are stored with the same JSON, without auth
// depending on the sandbox.
type Caps struct {
	Memory      int64
	Timeout     time.Duration
	StdoutBytes int64
	StderrBytes int64
	OutFiles    int
	OutBytes    int64
	TmpFiles    int
	TmpBytes    int64
}
