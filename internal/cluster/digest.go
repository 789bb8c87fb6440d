package cluster

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/store"
)

// digestHeader is the trailer of a streamed replica write or part that
// carries the body's digest, "HEX-MD5:HEX-CRC32C": a coordinator hashes a
// body once and its replicas take the MD5 as the ETag, checking only the
// cheap CRC-32C. Like every body it is not covered by the call's HMAC.
const digestHeader = "X-Insitu-Digest"

// digestTrailer is a request body that sets its digest trailer when the
// body underneath reaches EOF (the HTTP client sends trailers after that
// read, from the goroutine that made it, so no lock is needed).
type digestTrailer struct {
	r       io.Reader
	digest  func() (store.BodyDigest, error)
	trailer http.Header
	chunks  *chunkPool // buffers for WriteTo
}

// newDigestTrailer wraps r; chunks lends WriteTo its buffer.
func newDigestTrailer(r io.Reader, digest func() (store.BodyDigest, error), chunks *chunkPool) *digestTrailer {
	return &digestTrailer{r: r, digest: digest, trailer: http.Header{digestHeader: nil}, chunks: chunks}
}

// WriteTo copies the body to w in reads of up to streamChunk bytes. The
// HTTP client uses it to send the body: its own copy writes 32 KiB
// chunks, each a chunk header, a socket write or two and a flush.
func (t *digestTrailer) WriteTo(w io.Writer) (int64, error) {
	bp := t.chunks.get()
	defer t.chunks.put(bp)
	var total int64
	for {
		n, err := t.Read(*bp)
		if n > 0 {
			m, werr := w.Write((*bp)[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (t *digestTrailer) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.EOF {
		d, derr := t.digest()
		if derr != nil {
			return n, derr
		}
		t.trailer.Set(digestHeader, hex.EncodeToString(d.MD5)+":"+strconv.FormatUint(uint64(d.CRC32C), 16))
	}
	return n, err
}

// trailerDigest returns the KnownDigest of a write whose args announce a
// digest trailer (nil otherwise). It reads r.Trailer, so it may be called
// only once r.Body has returned EOF, which is when engines call it.
func trailerDigest(r *http.Request, a putArgs) func() (store.BodyDigest, error) {
	if !a.Digest {
		return nil
	}
	return func() (store.BodyDigest, error) { return parseDigest(r.Trailer.Get(digestHeader)) }
}

func parseDigest(v string) (store.BodyDigest, error) {
	if v == "" {
		return store.BodyDigest{}, errors.New("cluster: no digest trailer")
	}
	m, c, ok := strings.Cut(v, ":")
	sum, err := hex.DecodeString(m)
	crc, cerr := strconv.ParseUint(c, 16, 32)
	if !ok || err != nil || cerr != nil {
		return store.BodyDigest{}, fmt.Errorf("cluster: bad digest trailer %q", v)
	}
	return store.BodyDigest{MD5: sum, CRC32C: uint32(crc)}, nil
}
