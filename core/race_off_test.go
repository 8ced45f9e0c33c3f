//go:build !race

package core

// raceEnabled reports whether the tests run under the race detector, which
// makes them several times slower: the heaviest tests then run smaller.
const raceEnabled = false
