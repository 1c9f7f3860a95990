package webchat

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// origins are the sites, besides the gateway itself, whose pages may open the chat's
// WebSocket and API and frame the player page: cfg.AllowedOrigins and the public URL's origin.
type origins struct {
	allowed map[string]bool
	// list keeps the configured order for the frame-ancestors directive.
	list []string
	// public is the public URL's origin, "" when none is configured.
	public string
}

func newOrigins(publicURL string, allowed []string) (origins, error) {
	o := origins{allowed: map[string]bool{}}
	all := allowed
	if publicURL != "" {
		all = append([]string{publicURL}, allowed...)
	}
	for _, s := range all {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return origins{}, fmt.Errorf("origin %q: want scheme://host[:port]", s)
		}
		key := originKey(u.Scheme, u.Host)
		if publicURL != "" && s == publicURL {
			o.public = key
		}
		if !o.allowed[key] {
			o.allowed[key] = true
			o.list = append(o.list, key)
		}
	}
	return o, nil
}

// originKey normalises an origin so "https://Casino.example:443" matches what browsers send.
func originKey(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[scheme])
	return scheme + "://" + host
}

// check reports whether r may use the chat's WebSocket and API. Requests without Origin come
// from programs, not from pages another site could abuse; same-origin requests are the
// player page itself.
func (o origins) check(r *http.Request) bool {
	h := r.Header.Get("Origin")
	if h == "" {
		return true
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" {
		return false // includes "null": sandboxed frames and file: pages
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return o.allowed[originKey(u.Scheme, u.Host)]
}

// refuseOrigin answers a request from a site that may not use the chat.
func refuseOrigin(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusForbidden, codeForbidden,
		fmt.Sprintf("origin %s may not use this chat; add it to allowed_origins", truncate(r.Header.Get("Origin"), 100)))
}
