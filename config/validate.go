package config

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors/settings"
)

// Immutable tables of the values Validate accepts.
var (
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"json", "text"}
	storeDrivers = []string{"sqlite", "postgres"}
	priorities   = []string{"low", "normal", "high", "urgent"}
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
	checkTrustedProxies(p, c.TrustedProxies)
	if c.DataDir == "" {
		p.add("data_dir", "required")
	}
	checkOneOf(p, "log.level", "log level", c.Log.Level, logLevels)
	checkOneOf(p, "log.format", "log format", c.Log.Format, logFormats)
	// An empty sqlite DSN was given its default by Parse unless data_dir is empty too.
	if checkOneOf(p, "store.driver", "store driver", c.Store.Driver, storeDrivers) {
		if err := c.catalog.CheckDriver(c.Store.Driver); err != nil {
			p.add("store.driver", err.Error())
		} else if c.Store.DSN == "" {
			p.add("store.dsn", "required for driver "+c.Store.Driver)
		}
	}
	if c.Attachments.Dir == "" {
		p.add("attachments.dir", "required")
	}
	checkPositive(p, "attachments.max_bytes", c.Attachments.MaxBytes)
	c.validateStorage(p)
	c.Delivery.validate(p)
	c.SLA.FirstResponse.validate(p)
	c.SLA.validateStages(p)
	if c.SLA.UrgentCallbackVIP < 0 {
		p.add("sla.urgent_callback_vip", fmt.Sprintf("must not be negative (0 makes no call-back request urgent), got %d", c.SLA.UrgentCallbackVIP))
	}
	checkPositive(p, "shutdown_timeout", c.ShutdownTimeout)
	if c.ShutdownDelay < 0 {
		p.add("shutdown_delay", fmt.Sprintf("must not be negative (0 stops at once), got %s", c.ShutdownDelay))
	}

	c.Language.validate(p, c.catalog.CheckLanguages)
	c.PlayerDirectory.validate(p)
	c.Escalation.validate(p)
	c.AutoReplies.validate(p, c.catalog)

	names := c.validateEntries(p)
	c.validateRoutes(p, names)
}

// languageAccuracies are the detector's modes (router/language).
var languageAccuracies = []string{"low", "high"}

func (l *Language) validate(p *problems, check func([]string) error) {
	switch {
	case len(l.Detect) == 1:
		p.add("language.detect", "want at least two languages to tell apart, or none, got 1")
	case len(l.Detect) > 1:
		seen := map[string]bool{}
		for i, code := range l.Detect {
			if len(code) != 2 || strings.Trim(code, "abcdefghijklmnopqrstuvwxyz") != "" {
				p.add(fmt.Sprintf("language.detect[%d]", i), fmt.Sprintf("want a lower-case ISO 639-1 code such as ro, got %s", quote(code)))
			} else if seen[code] {
				p.add(fmt.Sprintf("language.detect[%d]", i), fmt.Sprintf("%s is listed twice", quote(code)))
			}
			seen[code] = true
		}
		if check != nil && !p.touches("language.detect") {
			if err := check(l.Detect); err != nil {
				p.add("language.detect", err.Error())
			}
		}
	}
	checkPositive(p, "language.min_letters", l.MinLetters)
	checkOneOf(p, "language.accuracy", "accuracy", l.Accuracy, languageAccuracies)
}

func (d *PlayerDirectory) validate(p *problems) {
	switch {
	case d.URL != "" && d.File != "":
		p.add("player_directory", "set url or file, not both")
	case d.URL != "":
		checkHTTPURL(p, "player_directory.url", d.URL, true)
		if len(d.Secret.Value()) < 16 {
			p.add("player_directory.secret", "required with url, at least 16 characters (the requests are signed with it)")
		}
	}
	checkPositive(p, "player_directory.budget", d.Budget)
	checkPositive(p, "player_directory.timeout", d.Timeout)
	checkPositive(p, "player_directory.cache_ttl", d.CacheTTL)
	checkPositive(p, "player_directory.negative_ttl", d.NegativeTTL)
}

// validateStorage checks the attachment quota and the retention periods.
func (c *Config) validateStorage(p *problems) {
	switch q := c.Attachments.QuotaBytes; {
	case q < 0:
		p.add("attachments.quota_bytes", fmt.Sprintf("must not be negative (0 sets no quota), got %d", q))
	case q > 0 && q < c.Attachments.MaxBytes:
		p.add("attachments.quota_bytes", fmt.Sprintf("must be at least attachments.max_bytes (%d), or 0 for no quota, got %d", c.Attachments.MaxBytes, q))
	}
	for _, r := range []struct {
		key string
		v   time.Duration
	}{{"closed_conversations", c.Retention.ClosedConversations}, {"attachments", c.Retention.Attachments}} {
		if r.v < 0 {
			p.add("retention."+r.key, fmt.Sprintf("must not be negative (0 keeps forever), got %s", r.v))
		}
	}
}

func (d *Delivery) validate(p *problems) {
	checkPositive(p, "delivery.workers", d.Workers)
	checkPositive(p, "delivery.outbound_workers", d.OutboundWorkers)
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

// claim is a page path or database file already taken, and the key path that took it.
type claim struct {
	key, value string
}

// entry is a channel or helpdesk as validation and defaults see it.
type entry struct {
	path, name, typ, family string
	settings                settings.Settings // nil when typ is missing or unknown
	types                   map[string]NewSettings
}

// entries lists the channels, then the helpdesks.
func (c *Config) entries() []entry {
	var out []entry
	for i, ch := range c.Channels {
		out = append(out, entry{path: fmt.Sprintf("channels[%d]", i), name: ch.Name, typ: ch.Type, family: "channel",
			settings: ch.Settings, types: c.catalog.Channels})
	}
	for i, h := range c.Helpdesks {
		out = append(out, entry{path: fmt.Sprintf("helpdesks[%d]", i), name: h.Name, typ: h.Type, family: "helpdesk",
			settings: h.Settings, types: c.catalog.Helpdesks})
	}
	return out
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
	for _, e := range c.entries() {
		if checkName(p, joinKey(e.path, "name"), e.name) {
			if first, dup := firstPath[e.name]; dup {
				p.add(joinKey(e.path, "name"), fmt.Sprintf("duplicate of %s %q", first, e.name))
			} else {
				firstPath[e.name] = joinKey(e.path, "name")
			}
			if e.family == "channel" {
				names.channels[e.name] = true
			} else {
				names.helpdesks[e.name] = true
			}
		}
		newSettings, known := e.types[e.typ]
		switch {
		case e.typ == "":
			p.add(joinKey(e.path, "type"), "required")
			continue
		case !known:
			p.add(joinKey(e.path, "type"), fmt.Sprintf("unknown %s type %q (known: %s)", e.family, e.typ, typeNames(e.types)))
			continue
		case e.settings == nil:
			// A Config built in code rather than parsed: the type's defaults stand in.
			e.settings = newSettings()
		}
		sp := settings.NewProblems(e.path)
		e.settings.Validate(sp)
		for _, pr := range sp.List() {
			p.add(pr.Key, pr.Message)
		}
		if pg, ok := e.settings.(settings.PageOwner); ok && settings.ValidPagePath(pg.PagePath()) {
			pages = checkPageClaim(p, joinKey(e.path, "path"), pg.PagePath(), pages)
		}
		if db, ok := e.settings.(settings.FileOwner); ok && db.DatabaseFile() != "" {
			files = checkFileClaim(p, joinKey(e.path, "database"), db.DatabaseFile(), files)
		}
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
		case settings.PathWithin(v, c.value):
			p.add(key, fmt.Sprintf("%s is inside %s %s", quote(v), c.key, quote(c.value)))
			return pages
		case settings.PathWithin(c.value, v):
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
			if _, ok := c.catalog.Channels[kind]; !ok {
				p.add(fmt.Sprintf("%s.match.kinds[%d]", path, j), fmt.Sprintf("unknown channel type %q (known: %s)", kind, typeNames(c.catalog.Channels)))
			}
		}
		for j, lang := range m.Languages {
			if !settings.LanguageTag(lang) {
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
		for j, pat := range m.Patterns {
			if _, err := regexp.Compile(pat); err != nil {
				p.add(fmt.Sprintf("%s.match.patterns[%d]", path, j), fmt.Sprintf("not a regular expression: %v", err))
			}
		}
		if m.Player != "" && m.Player != "new" && m.Player != "returning" {
			p.add(joinKey(path, "match.player"), fmt.Sprintf("want new or returning, got %s", quote(m.Player)))
		}
		// The calendar itself is parsed where it is used (router/calendar, which config/ may
		// not import): check-config and serve report its errors under match.hours.
		if m.Hours == nil && m.OutOfHours {
			p.add(joinKey(path, "match.out_of_hours"), "needs match.hours")
		}
		if r.Priority != "" && !slices.Contains(priorities, r.Priority) {
			p.add(joinKey(path, "priority"), fmt.Sprintf("want low, normal, high or urgent, got %s", quote(r.Priority)))
		}
		if r.Assignee != "" && r.Assignee != "personal_manager" {
			p.add(joinKey(path, "assignee"), fmt.Sprintf("want personal_manager, got %s", quote(r.Assignee)))
		}
		if b := r.Bot; b != nil {
			if strings.TrimSpace(b.Knowledge) == "" {
				p.add(joinKey(path, "bot.knowledge"), "required: the bot's knowledge file")
			}
			if b.Threshold < 0 || b.Threshold > 1 {
				p.add(joinKey(path, "bot.threshold"), fmt.Sprintf("want a score between 0 and 1, got %v", b.Threshold))
			}
			if b.Quiet < 0 { // 0 takes the default
				p.add(joinKey(path, "bot.quiet"), fmt.Sprintf("must not be negative, got %v", b.Quiet))
			}
			if b.MaxUnanswered < 0 {
				p.add(joinKey(path, "bot.max_unanswered"), fmt.Sprintf("must not be negative, got %d", b.MaxUnanswered))
			}
			if b.AfterResolved != "" && b.AfterResolved != "bot" && b.AfterResolved != "handoff" {
				p.add(joinKey(path, "bot.after_resolved"), fmt.Sprintf("want bot or handoff, got %s", quote(b.AfterResolved)))
			}
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

// checkHTTPURL requires an absolute http or https URL with a host.
func checkHTTPURL(p *problems, path, raw string, required bool) {
	p.merge(func(sp *settings.Problems) { settings.CheckHTTPURL(sp, path, raw, required) })
}

// checkName requires a valid instance name and reports whether it is one.
func checkName(p *problems, path, name string) (ok bool) {
	p.merge(func(sp *settings.Problems) { ok = settings.CheckName(sp, path, name) })
	return ok
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
