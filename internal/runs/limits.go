package runs

import "github.com/insitu-cloud/insitu/internal/sandbox"

// clamp lowers every field of l to at most its cap.
func clamp(l, caps sandbox.Limits) sandbox.Limits {
	l.Memory = min(l.Memory, caps.Memory)
	l.Timeout = min(l.Timeout, caps.Timeout)
	l.StdoutBytes = min(l.StdoutBytes, caps.StdoutBytes)
	l.StderrBytes = min(l.StderrBytes, caps.StderrBytes)
	l.OutFiles = min(l.OutFiles, caps.OutFiles)
	l.OutBytes = min(l.OutBytes, caps.OutBytes)
	l.TmpFiles = min(l.TmpFiles, caps.TmpFiles)
	l.TmpBytes = min(l.TmpBytes, caps.TmpBytes)
	return l
}
