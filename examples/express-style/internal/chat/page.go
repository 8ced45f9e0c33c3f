package chat

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"time"
)

//go:embed static
var static embed.FS

// PagePaths are the paths [Page] serves.
var PagePaths = []string{"/", "/index.html", "/main.js", "/style.css"}

// Page returns the handler of the chat's web page, which loads the browser
// client from clientScript (see browserclient.Find).
func Page(clientScript string) http.Handler {
	tmpl := template.Must(template.ParseFS(static, "static/index.html"))
	var index bytes.Buffer
	if err := tmpl.Execute(&index, struct{ ClientScript string }{clientScript}); err != nil {
		panic(err)
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	assets := http.FileServerFS(files)
	start := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/", "/index.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			http.ServeContent(w, r, "index.html", start, bytes.NewReader(index.Bytes()))
		case "/main.js", "/style.css":
			assets.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}
