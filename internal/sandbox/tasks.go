package sandbox

import "sync"

// tasks counts the Run calls in progress and the goroutines they start
// (stdin copies), so Close can wait for all of them. Safe for concurrent
// use. Unlike a sync.WaitGroup it refuses new Runs once closing, so a
// count never rises from zero while Close waits.
type tasks struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed when closing and n == 0
}

func newTasks() *tasks { return &tasks{idle: make(chan struct{})} }

// enter counts a new Run; false once closing.
func (t *tasks) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.n++
	return true
}

// add counts a goroutine started by a Run that has entered (and not yet
// left), so the count is above zero; allowed while closing.
func (t *tasks) add() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

// done uncounts a Run or a goroutine.
func (t *tasks) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.closing && t.n == 0 {
		close(t.idle)
	}
}

// close refuses further Runs and returns a channel closed once every
// counted Run and goroutine is done. Call it once.
func (t *tasks) close() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closing = true
	if t.n == 0 {
		close(t.idle)
	}
	return t.idle
}
