package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// clientFiles are the files of the browser client the server may serve.
var clientFiles = map[string]string{
	"socket.io.js":             "application/javascript; charset=utf-8",
	"socket.io.min.js":         "application/javascript; charset=utf-8",
	"socket.io.esm.min.js":     "application/javascript; charset=utf-8",
	"socket.io.js.map":         "application/json; charset=utf-8",
	"socket.io.min.js.map":     "application/json; charset=utf-8",
	"socket.io.esm.min.js.map": "application/json; charset=utf-8",
}

// clientFileServer serves the browser client from a file system, with an
// ETag so browsers can revalidate cheaply.
type clientFileServer struct {
	fsys  fs.FS
	mu    sync.Mutex
	cache map[string]clientFile
}

type clientFile struct {
	data []byte
	etag string
}

func newClientFileServer(fsys fs.FS) *clientFileServer {
	return &clientFileServer{fsys: fsys, cache: make(map[string]clientFile)}
}

// serve answers r if it asks for a client file, and reports whether it did.
func (c *clientFileServer) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	name := path.Base(r.URL.Path)
	ctype, ok := clientFiles[name]
	if !ok {
		return false
	}
	f, err := c.load(name)
	if err != nil {
		http.NotFound(w, r)
		return true
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=0")
	h.Set("ETag", f.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	h.Set("Content-Type", ctype)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
	return true
}

func (c *clientFileServer) load(name string) (clientFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.cache[name]; ok {
		return f, nil
	}
	data, err := fs.ReadFile(c.fsys, name)
	if err != nil {
		return clientFile{}, err
	}
	sum := sha256.Sum256(data)
	f := clientFile{data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	c.cache[name] = f
	return f, nil
}
