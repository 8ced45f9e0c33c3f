package chat

import (
	"html/template"
	"net/http"
)

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title><link rel="icon" href="data:,">
<style>body{font-family:Helvetica,Arial,sans-serif;margin:4em auto;max-width:24em}input,button{font-size:120%}</style></head>
<body>
<h3>Sign in (demo: any name, no password)</h3>
<p>Your {{.}} login is reused by the chat: the namespace /private admits only signed-in users.</p>
<form method="post" action="/login">
  <input name="user" placeholder="Your name" maxlength="32" required autofocus>
  <button type="submit">Sign in</button>
</form>
<p><a href="/">Back to the chat</a></p>
</body>
</html>
`))

// LoginPage returns the handler of a sign-in form that posts the field
// "user" to /login; via names the framework's auth mechanism.
func LoginPage(via string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = loginPage.Execute(w, via)
	})
}
