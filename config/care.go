package config

import "time"

// Escalation is the operator's escalation webhook (docs/policy.md, "Escalation"): a signed
// POST for each duty-of-care flag and each missed first-response target. No URL (the
// default) calls none.
type Escalation struct {
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"`
	// Timeout bounds one call; default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// DutyOfCare flags players' messages that signal gambling harm or distress (docs/policy.md,
// "Duty of care"). The built-in phrase list is on unless Disabled.
type DutyOfCare struct {
	Disabled bool `yaml:"disabled"`
	// Phrases is a YAML file that adds to, replaces or removes built-in phrases.
	Phrases string `yaml:"phrases"`
}

func (e *Escalation) validate(p *problems) {
	if e.URL == "" {
		return
	}
	checkHTTPURL(p, "escalation.url", e.URL, true)
	if len(e.Secret.Value()) < 16 {
		p.add("escalation.secret", "required with url, at least 16 characters (the calls are signed with it)")
	}
	if e.Timeout < 0 {
		p.add("escalation.timeout", "must not be negative (0 is the default, 10s)")
	}
}
