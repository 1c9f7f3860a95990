package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Immutable tables of the values Validate accepts.
var (
	// namePattern keeps instance names usable as a URL path segment (/hooks/{name}), a metric
	// label and a file name without escaping.
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// languagePattern is a loose BCP 47 shape: "de", "pt-BR", "zh-Hant-TW".
	languagePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	logLevels       = []string{"debug", "info", "warn", "error"}
	logFormats      = []string{"json", "text"}
	storeDrivers    = []string{"sqlite", "postgres"}
)

// Validate checks the configuration as a whole and returns every problem at once as a
// *ValidationError, or nil. It does not apply defaults: Load, Parse and Default do.
func (c *Config) Validate() error {
	var p problems
	c.validate(&p)
	return p.err()
}

func (c *Config) validate(p *problems) {
	listenOK := checkListen(p, c.Listen)
	if c.PublicURL != "" || listenOK {
		checkHTTPURL(p, "public_url", c.PublicURL, true)
	}
	if c.DataDir == "" {
		p.add("data_dir", "required")
	}
	checkOneOf(p, "log.level", "log level", c.Log.Level, logLevels)
	checkOneOf(p, "log.format", "log format", c.Log.Format, logFormats)
	// An empty sqlite DSN was given its default by Parse unless data_dir is empty too.
	if checkOneOf(p, "store.driver", "store driver", c.Store.Driver, storeDrivers) && c.Store.DSN == "" {
		p.add("store.dsn", "required for driver "+c.Store.Driver)
	}
	if c.Attachments.Dir == "" {
		p.add("attachments.dir", "required")
	}
	checkPositive(p, "attachments.max_bytes", c.Attachments.MaxBytes)
	c.Delivery.validate(p)
	c.SLA.FirstResponse.validate(p)
	checkPositive(p, "shutdown_timeout", c.ShutdownTimeout)

	names := c.validateEntries(p)
	c.validateRoutes(p, names)
}

func (d *Delivery) validate(p *problems) {
	checkPositive(p, "delivery.workers", d.Workers)
	checkPositive(p, "delivery.max_attempts", d.MaxAttempts)
	checkPositive(p, "delivery.batch_size", d.BatchSize)
	checkPositive(p, "delivery.backoff_base", d.BackoffBase)
	checkPositive(p, "delivery.backoff_max", d.BackoffMax)
	checkPositive(p, "delivery.lease", d.Lease)
	if d.BackoffBase > d.BackoffMax && d.BackoffMax > 0 {
		p.add("delivery.backoff_base", fmt.Sprintf("must not exceed delivery.backoff_max (%s), got %s", d.BackoffMax, d.BackoffBase))
	}
}

func (f *FirstResponse) validate(p *problems) {
	for _, t := range []struct {
		key string
		v   time.Duration
	}{{"chat", f.Chat}, {"email", f.Email}, {"voice", f.Voice}, {"vip", f.VIP}} {
		if t.v < 0 {
			p.add("sla.first_response."+t.key, fmt.Sprintf("must not be negative (0 sets no target), got %s", t.v))
		}
	}
}

// entryNames indexes the configured instance names for the checks of routes.
type entryNames struct {
	channels  map[string]bool
	helpdesks map[string]bool
}

// pager is implemented by type settings that serve pages at a path of their own (the web
// chat, the inbox). Those paths share the one listener, so none may be or contain another.
type pager interface {
	pagePath() string
}

// databaser is implemented by type settings that keep a SQLite database file of their own.
type databaser interface {
	databaseFile() string
}

// claim is a page path or database file already taken, and the key path that took it.
type claim struct {
	key, value string
}

// validateEntries checks channels and helpdesks. Their names share one namespace because
// both are mounted at /hooks/{name}.
func (c *Config) validateEntries(p *problems) entryNames {
	names := entryNames{channels: map[string]bool{}, helpdesks: map[string]bool{}}
	firstPath := map[string]string{} // name -> path of its first use
	var pages, files []claim
	if c.Store.Driver == "sqlite" && c.Store.DSN != "" {
		files = append(files, claim{"store.dsn", filepath.Clean(c.Store.DSN.Value())})
	}
	check := func(path, name string, e typedEntry, known map[string]bool) {
		if checkName(p, joinKey(path, "name"), name) {
			if first, dup := firstPath[name]; dup {
				p.add(joinKey(path, "name"), fmt.Sprintf("duplicate of %s %q", first, name))
			} else {
				firstPath[name] = joinKey(path, "name")
			}
			known[name] = true
		}
		if e.entryType() == "" {
			p.add(joinKey(path, "type"), "required")
			return
		}
		s, ok := e.typeSettings()
		if !ok {
			p.add(joinKey(path, "type"), fmt.Sprintf("unknown %s type %q (known: %s)", e.family(), e.entryType(), e.knownTypes()))
			return
		}
		s.validate(path, p)
		if pg, ok := s.(pager); ok && validPagePath(pg.pagePath()) {
			pages = checkPageClaim(p, joinKey(path, "path"), pg.pagePath(), pages)
		}
		if db, ok := s.(databaser); ok && db.databaseFile() != "" {
			files = checkFileClaim(p, joinKey(path, "database"), db.databaseFile(), files)
		}
	}
	// The loops work on copies: typeSettings allocates missing settings, and Validate must
	// not change the Config.
	for i, ch := range c.Channels {
		check(fmt.Sprintf("channels[%d]", i), ch.Name, &ch, names.channels)
	}
	for i, h := range c.Helpdesks {
		check(fmt.Sprintf("helpdesks[%d]", i), h.Name, &h, names.helpdesks)
	}
	return names
}

// checkPageClaim reports a page path that is, contains or lies below one claimed before,
// and returns the claims with it added.
func checkPageClaim(p *problems, key, v string, pages []claim) []claim {
	for _, c := range pages {
		switch {
		case v == c.value:
			p.add(key, fmt.Sprintf("%s is already used by %s", quote(v), c.key))
			return pages
		case pathWithin(v, c.value):
			p.add(key, fmt.Sprintf("%s is inside %s %s", quote(v), c.key, quote(c.value)))
			return pages
		case pathWithin(c.value, v):
			p.add(key, fmt.Sprintf("%s contains %s %s", quote(v), c.key, quote(c.value)))
			return pages
		}
	}
	return append(pages, claim{key, v})
}

// checkFileClaim reports a database file that another instance or the store uses already.
// Paths are compared as written, cleaned; links and relative spellings of one file escape it.
func checkFileClaim(p *problems, key, file string, files []claim) []claim {
	clean := filepath.Clean(file)
	for _, c := range files {
		if c.value == clean {
			p.add(key, fmt.Sprintf("%s is already used by %s", quote(file), c.key))
			return files
		}
	}
	return append(files, claim{key, clean})
}

func (c *Config) validateRoutes(p *problems, names entryNames) {
	for i, r := range c.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		checkRef(p, joinKey(path, "helpdesk"), "helpdesk", r.Helpdesk, names.helpdesks)
		m := r.Match
		for j, ch := range m.Channels {
			checkRef(p, fmt.Sprintf("%s.match.channels[%d]", path, j), "channel", ch, names.channels)
		}
		for j, kind := range m.Kinds {
			if _, ok := channelTypes[kind]; !ok {
				p.add(fmt.Sprintf("%s.match.kinds[%d]", path, j), fmt.Sprintf("unknown channel type %q (known: %s)", kind, typeNames(channelTypes)))
			}
		}
		for j, lang := range m.Languages {
			if !languagePattern.MatchString(lang) {
				p.add(fmt.Sprintf("%s.match.languages[%d]", path, j), fmt.Sprintf("want a language tag such as \"de\" or \"pt-BR\", got %s", quote(lang)))
			}
		}
		for j, kw := range m.Keywords {
			// An empty keyword is contained in every message and would match everything.
			if strings.TrimSpace(kw) == "" {
				p.add(fmt.Sprintf("%s.match.keywords[%d]", path, j), "must not be empty")
			}
		}
		if m.MinVIP < 0 {
			p.add(joinKey(path, "match.min_vip"), fmt.Sprintf("must not be negative, got %d", m.MinVIP))
		}
	}
	switch {
	case c.DefaultHelpdesk == "" && len(c.Helpdesks) > 0:
		p.add("default_helpdesk", "required when helpdesks are configured")
	case c.DefaultHelpdesk != "":
		checkRef(p, "default_helpdesk", "helpdesk", c.DefaultHelpdesk, names.helpdesks)
	}
}

// checkListen requires host:port with a numeric port and reports whether listen is usable.
func checkListen(p *problems, listen string) bool {
	if _, err := listenPort(listen); err != nil {
		p.add("listen", err.Error())
		return false
	}
	return true
}

// listenPort returns the port of a listen address such as ":8080" or "127.0.0.1:8080".
func listenPort(listen string) (int, error) {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return 0, fmt.Errorf("want host:port such as \":8080\", got %s", quote(listen))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("want a port number from 0 to 65535, got %s", quote(port))
	}
	return n, nil
}

// checkHTTPURL requires an absolute http or https URL with a host, because these URLs are
// used as they are to make requests or links.
func checkHTTPURL(p *problems, path, raw string, required bool) {
	if raw == "" {
		if required {
			p.add(path, "required")
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(path, fmt.Sprintf("want an absolute http or https URL, got %s", quote(raw)))
	}
}

// checkName requires a valid instance name and reports whether it is one.
func checkName(p *problems, path, name string) bool {
	switch {
	case name == "":
		p.add(path, "required")
	case !namePattern.MatchString(name):
		p.add(path, fmt.Sprintf("want lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters; got %s", quote(name)))
	default:
		return true
	}
	return false
}

// checkRef requires name to be one of the configured instances of family.
func checkRef(p *problems, path, family, name string, known map[string]bool) {
	switch {
	case name == "":
		p.add(path, "required")
	case !known[name]:
		p.add(path, fmt.Sprintf("unknown %s %s", family, quote(name)))
	}
}

// checkOneOf requires value to be one of allowed and reports whether it is.
func checkOneOf(p *problems, path, what, value string, allowed []string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	p.add(path, fmt.Sprintf("unknown %s %s (known: %s)", what, quote(value), strings.Join(allowed, ", ")))
	return false
}

func checkPositive[T ~int | ~int64](p *problems, path string, v T) {
	if v <= 0 {
		p.add(path, fmt.Sprintf("must be positive, got %v", v))
	}
}
