package adaptertest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/e347a4c2/socketio/internal/nodetest"
)

// Case is one client of [RunClients]: the official socket.io-client
// connecting to an app, with reconnection off.
type Case struct {
	Name string `json:"name"`
	// Path is the client's path option (default "/socket.io").
	Path string `json:"path,omitempty"`
	// Nsp is the namespace (default "/").
	Nsp string `json:"nsp,omitempty"`
	// Transports is the client's transports option (default polling then
	// websocket, with the upgrade).
	Transports []string `json:"transports,omitempty"`
	// Auth is the Socket.IO auth payload.
	Auth map[string]any `json:"auth,omitempty"`
	// Query is added to the query of every request.
	Query map[string]string `json:"query,omitempty"`
	// Headers are sent with every request, the WebSocket's included.
	Headers map[string]string `json:"headers,omitempty"`
	// PollingHeaders are sent with the long-polling requests only, as a
	// browser sends an Authorization header it can set on XHR but not on a
	// WebSocket.
	PollingHeaders map[string]string `json:"pollingHeaders,omitempty"`
	// NoTrailingSlash sets the client's addTrailingSlash option to false.
	NoTrailingSlash bool `json:"noTrailingSlash,omitempty"`
	// WaitUpgrade waits for the upgrade to WebSocket, or its failure,
	// before emitting whoami.
	WaitUpgrade bool `json:"waitUpgrade,omitempty"`
	// Noise are HTTP GETs to other routes of the app, sent after the
	// connection and before whoami (their first status is reported).
	Noise []Noise `json:"noise,omitempty"`
}

// Noise is a GET to a route of the app, repeated Times.
type Noise struct {
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
	Times   int               `json:"times,omitempty"`
}

// Result is what the client of a [Case] saw.
type Result struct {
	Name string `json:"name"`
	// Failure is set when the script itself failed (a timeout).
	Failure   string `json:"failure"`
	Connected bool   `json:"connected"`
	// Error is the connect_error's message, Status the HTTP status of a
	// refused long-polling request, Data the connect_error's data.
	Error        string         `json:"error"`
	Status       int            `json:"status"`
	Data         any            `json:"data"`
	UpgradeError string         `json:"upgradeError"`
	Transport    string         `json:"transport"`
	Whoami       map[string]any `json:"whoami"`
	Noise        []int          `json:"noise"`
}

// RunClients runs the cases concurrently against the app at baseURL (such
// as "http://127.0.0.1:1234") with test/node/adapters/clients.mjs, and
// returns the results by case name. It skips the test when Node is
// missing (see nodetest.Require).
func RunClients(t testing.TB, baseURL string, cases []Case) map[string]Result {
	t.Helper()
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := nodetest.Run(t, ctx, "adapters/clients.mjs", map[string]string{"BASE_URL": baseURL, "CASES": string(b)})
	results := make(map[string]Result, len(cases))
	lines := nodetest.DecodeLines[Result](t, out)
	for i := range lines {
		r := &lines[i]
		if r.Failure != "" {
			t.Errorf("client %s: %s", r.Name, r.Failure)
		}
		results[r.Name] = *r
	}
	if len(results) != len(cases) {
		t.Fatalf("clients.mjs reported %d results for %d cases:\n%s", len(results), len(cases), out)
	}
	return results
}
