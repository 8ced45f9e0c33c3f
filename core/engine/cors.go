package engine

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// allow reports whether origin may make cross-origin requests, and whether
// it was allowed explicitly (by name or by AllowOrigin) rather than by "*".
func (c *CORS) allow(origin string, r *http.Request) (allowed, explicit bool) {
	if slices.Contains(c.Origins, origin) {
		return true, true
	}
	if c.AllowOrigin != nil && c.AllowOrigin(origin, r) {
		return true, true
	}
	if slices.Contains(c.Origins, "*") {
		return true, false
	}
	return false, false
}

// setCORSHeaders adds the CORS headers of an answer to r. It does nothing
// when CORS is off or the request has no Origin header.
func (s *Server) setCORSHeaders(w http.ResponseWriter, r *http.Request) {
	c := s.opts.CORS
	if c == nil {
		return
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	allowed, explicit := c.allow(origin, r)
	switch {
	case !allowed:
		h.Add("Vary", "Origin")
		return
	case explicit:
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if c.Credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	default:
		h.Set("Access-Control-Allow-Origin", "*")
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
}

// servePreflight answers a CORS preflight request.
func (s *Server) servePreflight(w http.ResponseWriter, r *http.Request) {
	c := s.opts.CORS
	s.setCORSHeaders(w, r)
	h := w.Header()
	if h.Get("Access-Control-Allow-Origin") != "" {
		methods := c.Methods
		if len(methods) == 0 {
			methods = []string{http.MethodGet, http.MethodPost, http.MethodOptions}
		}
		h.Set("Access-Control-Allow-Methods", strings.Join(methods, ","))
		if len(c.AllowedHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
		} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		if c.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
		}
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// webSocketOriginAllowed applies to WebSocket handshakes the rule CORS
// applies to polling: without CORS only same-origin pages (and clients that
// send no Origin, which are not browsers) may connect; with CORS, the
// origins it allows.
func (s *Server) webSocketOriginAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if c := s.opts.CORS; c != nil {
		if ok, _ := c.allow(origin, r); ok {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
