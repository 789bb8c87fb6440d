package runs

import "github.com/insitu-cloud/insitu/internal/sandbox"

// overlay returns base with every non-zero field of over.
func overlay(base, over sandbox.Limits) sandbox.Limits {
	if over.Memory > 0 {
		base.Memory = over.Memory
	}
	if over.Timeout > 0 {
		base.Timeout = over.Timeout
	}
	if over.StdoutBytes > 0 {
		base.StdoutBytes = over.StdoutBytes
	}
	if over.StderrBytes > 0 {
		base.StderrBytes = over.StderrBytes
	}
	if over.OutFiles > 0 {
		base.OutFiles = over.OutFiles
	}
	if over.OutBytes > 0 {
		base.OutBytes = over.OutBytes
	}
	if over.TmpFiles > 0 {
		base.TmpFiles = over.TmpFiles
	}
	if over.TmpBytes > 0 {
		base.TmpBytes = over.TmpBytes
	}
	return base
}

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
