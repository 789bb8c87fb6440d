//go:build race

package local

// raceEnabled scales down the heaviest tests: the race detector slows
// Pebble and encoding/json about tenfold.
const raceEnabled = true
