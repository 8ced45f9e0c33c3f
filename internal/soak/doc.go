// Package soak holds a long-running load test of the Socket.IO server,
// outside the default test suite: thousands of in-process clients connect,
// chat and disconnect in churn for minutes, then the test checks that the
// server's goroutines and heap are back to where they started. Run it with
//
//	go test ./internal/soak -run TestSoak -v -soak=2m [-soak-clients=1000]
//	SOCKETIO_SOAK=2m go test -run TestSoak -v ./internal/soak
//
// (the flag goes after the package). Without either it is skipped.
package soak
