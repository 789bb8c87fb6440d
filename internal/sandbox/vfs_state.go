package sandbox

import (
	"path"
	"strings"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// runState is the accounting of one run in the worker: quotas, counters
// and the inputs' first read error. It is used from the guest's goroutine
// only.
type runState struct {
	lim        Limits
	inodes     uint64
	tmpFiles   int
	tmpBytes   int64
	nOut       int
	outBytes   int64
	outDir     string // host dir for /out files; "" refuses /out writes
	outDirMade bool
	outSeq     int
	outFiles   []*outData
	inputBytes int64
	inputErr   error
}

// chargeFiles counts one more file or directory in kind's mount and ends
// the run when that exceeds its quota.
func (st *runState) chargeFiles(kind fsKind) {
	switch kind {
	case fsTmp:
		st.tmpFiles++
		if st.tmpFiles > st.lim.TmpFiles {
			panic(&quotaError{what: "/tmp files", limit: int64(st.lim.TmpFiles)})
		}
	case fsOut:
		st.nOut++
		if st.nOut > st.lim.OutFiles {
			panic(&quotaError{what: "/out files", limit: int64(st.lim.OutFiles)})
		}
	}
}

func (st *runState) refundFile(kind fsKind) {
	switch kind {
	case fsTmp:
		st.tmpFiles--
	case fsOut:
		st.nOut--
	}
}

// chargeBytes adds delta bytes to kind's total and ends the run when that
// exceeds its quota.
func (st *runState) chargeBytes(kind fsKind, delta int64) {
	switch kind {
	case fsTmp:
		st.tmpBytes += delta
		if st.tmpBytes > st.lim.TmpBytes {
			panic(&quotaError{what: "/tmp bytes", limit: st.lim.TmpBytes})
		}
	case fsOut:
		st.outBytes += delta
		if st.outBytes > st.lim.OutBytes {
			panic(&quotaError{what: "/out bytes", limit: st.lim.OutBytes})
		}
	}
}

// closeOut closes the /out host files.
func (st *runState) closeOut() {
	for _, o := range st.outFiles {
		if o.host != "" {
			o.f.Close()
		}
	}
}

// cleanInputPath turns an Input.Path into a mount-relative path, refusing
// anything that could name something outside /in.
func cleanInputPath(p string) (string, bool) {
	p = strings.TrimPrefix(p, "/in/")
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", false
		}
	}
	c := path.Clean("/" + p)[1:]
	if c == "" || c == "." {
		return "", false
	}
	if _, _, errno := splitPath(c); errno != 0 {
		return "", false
	}
	return c, true
}

// addInput places a file at p (already cleaned) in the /in tree.
func (v *vfs) addInput(p string, size int64, data fileData) experimentalsys.Errno {
	parts, _, errno := splitPath(p)
	if errno != 0 || len(parts) == 0 {
		return experimentalsys.EINVAL
	}
	dir := v.root
	for _, c := range parts[:len(parts)-1] {
		next := dir.kids[c]
		if next == nil {
			next = v.st.newNode(c, true)
			dir.kids[c] = next
		} else if !next.dir {
			return experimentalsys.ENOTDIR
		}
		dir = next
	}
	name := parts[len(parts)-1]
	if dir.kids[name] != nil {
		return experimentalsys.EEXIST
	}
	n := v.st.newNode(name, false)
	n.size, n.file = size, data
	dir.kids[name] = n
	return 0
}
