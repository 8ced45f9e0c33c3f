// Package browserclient finds the official browser client of Socket.IO
// for the examples' web pages.
package browserclient

import (
	"os"
	"path/filepath"

	"github.com/e347a4c2/socketio/core"
)

// CDNScript is the official CDN's copy of the browser client, used when
// no local copy is found.
const CDNScript = "https://cdn.socket.io/4.8.1/socket.io.min.js"

// LocalScript is where the Socket.IO server serves the client when
// [core.WithClientFiles] is set and the server is mounted on /socket.io/.
const LocalScript = "/socket.io/socket.io.min.js"

// Find looks for the browser client of the npm package socket.io-client
// (node_modules/socket.io-client/dist, or the copy of this repository's
// test/node) in the working directory and its parents. When it finds one,
// it returns the option that makes the Socket.IO server serve it under its
// path (the reference's serveClient) and [LocalScript]; otherwise no
// option and [CDNScript].
func Find() ([]core.Option, string) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, CDNScript
	}
	for {
		for _, rel := range []string{"node_modules", filepath.Join("test", "node", "node_modules")} {
			dist := filepath.Join(dir, rel, "socket.io-client", "dist")
			if _, err := os.Stat(filepath.Join(dist, "socket.io.min.js")); err == nil {
				return []core.Option{core.WithClientFiles(os.DirFS(dist))}, LocalScript
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, CDNScript
		}
		dir = parent
	}
}
