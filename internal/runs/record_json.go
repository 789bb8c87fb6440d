package runs

import (
	"encoding/json"
	"math"
	"strconv"
)

// marshalRecord encodes r exactly as json.Marshal does, byte for byte
// (FuzzMarshalRecord checks it), without reflection: a service request
// writes one record, and reflection was about 4% of the server's CPU
// per request (issue 13). Anything it does not encode itself (a string
// that needs escaping, a time outside RFC 3339, a non-finite float) it
// hands to encoding/json.
func marshalRecord(r *Record) ([]byte, error) {
	if !finite(r.QueuedMS, r.WallMS, r.CPUMS) {
		return json.Marshal(r)
	}
	b := make([]byte, 0, 512)
	b = appendField(b, `{"id":`, r.ID)
	b = appendField(b, `,"account":`, r.Account)
	b = appendField(b, `,"app":`, r.App)
	b = appendField(b, `,"digest":`, r.Digest)
	b = appendField(b, `,"node":`, r.Node)
	b = appendField(b, `,"kind":`, r.Kind)
	b = append(b, `,"start":"`...)
	b, err := r.Start.AppendText(b)
	if err != nil {
		return json.Marshal(r) // its error, worded by encoding/json
	}
	b = append(b, '"')
	if r.QueuedMS != 0 {
		b = appendFloat(append(b, `,"queued_ms":`...), r.QueuedMS)
	}
	b = appendFloat(append(b, `,"wall_ms":`...), r.WallMS)
	b = appendFloat(append(b, `,"cpu_ms":`...), r.CPUMS)
	b = appendField(b, `,"status":`, string(r.Status))
	b = strconv.AppendInt(append(b, `,"exit_code":`...), int64(r.ExitCode), 10)
	if r.Error != "" {
		b = appendField(b, `,"error":`, r.Error)
	}
	for _, f := range [...]struct {
		name string
		v    int64
	}{
		{`,"peak_memory":`, r.PeakMemory}, {`,"stdin_bytes":`, r.StdinBytes}, {`,"stdout_bytes":`, r.StdoutBytes},
		{`,"stderr_bytes":`, r.StderrBytes}, {`,"input_bytes":`, r.InputBytes}, {`,"output_bytes":`, r.OutputBytes},
	} {
		b = strconv.AppendInt(append(b, f.name...), f.v, 10)
	}
	if len(r.Outputs) > 0 {
		b = append(b, `,"outputs":[`...)
		for i, o := range r.Outputs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, o)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendField(b []byte, name, v string) []byte { return appendString(append(b, name...), v) }

// appendString appends s as a JSON string the way encoding/json writes
// it: as is between quotes when every byte is printable ASCII that it
// does not escape, else by encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat appends a finite f as encoding/json does: the shortest
// decimal, in exponent form below 1e-6 and from 1e21 on, with a
// two-digit negative exponent's leading zero dropped.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

// finite reports whether every f is neither NaN nor infinite.
func finite(fs ...float64) bool {
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
