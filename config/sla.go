package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SLATier sets the response targets for players from a VIP tier on (docs/policy.md, "SLA").
type SLATier struct {
	MinVIP        int         `yaml:"min_vip"` // from this VIP tier on (1 or more)
	FirstResponse TierTargets `yaml:"first_response"`
	NextResponse  TierTargets `yaml:"next_response"`
}

// TierTargets are a tier's targets per kind of channel; 0 sets none.
type TierTargets struct {
	Chat  time.Duration `yaml:"chat"`
	Email time.Duration `yaml:"email"`
	Voice time.Duration `yaml:"voice"`
}

// Targets are t as a FirstResponse without a VIP target: the tier is the VIP level.
func (t TierTargets) Targets() FirstResponse {
	return FirstResponse{Chat: t.Chat, Email: t.Email, Voice: t.Voice}
}

// Complex is the escalation of a case an agent or a rule flagged complex.
type Complex struct {
	// After is how long the case may stay unresolved (not closed) before it goes to Group;
	// wall-clock time. Default 1h; 0 escalates none.
	After time.Duration `yaml:"after"`
	// Group is the senior group the case goes to, as the tag "group:<name>" that replaces the
	// case's other group tags. Default "senior".
	Group string `yaml:"group"`
	// Priority, when set, raises the case to at least it. Default urgent.
	Priority string `yaml:"priority"`
}

// ParseNearBreach reads sla.near_breach: "80%" of the target, or a duration such as "10m"
// before it runs out; "" (or "0") is none.
func ParseNearBreach(s string) (fraction float64, before time.Duration, err error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, 0, nil
	}
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || f <= 0 || f >= 100 {
			return 0, 0, fmt.Errorf("want a share of the target between 0%% and 100%% such as \"80%%\", got %s", quote(s))
		}
		return f / 100, 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("want a share of the target such as \"80%%\" or a duration before it runs out such as \"10m\", got %s", quote(s))
	}
	return 0, d, nil
}

// validateStages checks the SLA's keys beyond first_response.
func (s *SLA) validateStages(p *problems) {
	s.NextResponse.validateAs(p, "sla.next_response")
	for i, t := range s.Tiers {
		path := fmt.Sprintf("sla.tiers[%d]", i)
		if t.MinVIP < 1 {
			p.add(path+".min_vip", fmt.Sprintf("want a VIP tier of 1 or more, got %d", t.MinVIP))
		}
		if slices.ContainsFunc(s.Tiers[:i], func(o SLATier) bool { return o.MinVIP == t.MinVIP }) {
			p.add(path+".min_vip", fmt.Sprintf("tier %d is listed twice", t.MinVIP))
		}
		for _, r := range []struct {
			key string
			f   FirstResponse
		}{{"first_response", t.FirstResponse.Targets()}, {"next_response", t.NextResponse.Targets()}} {
			r.f.validateAs(p, path+"."+r.key)
		}
	}
	if _, _, err := ParseNearBreach(s.NearBreach); err != nil {
		p.add("sla.near_breach", err.Error())
	}
	for _, k := range []struct{ key, v string }{{"sla.near_breach_priority", s.NearBreachPriority},
		{"sla.breach_priority", s.BreachPriority}, {"sla.complex.priority", s.Complex.Priority}} {
		if k.v != "" && !slices.Contains(priorities, k.v) {
			p.add(k.key, fmt.Sprintf("want low, normal, high or urgent, got %s", quote(k.v)))
		}
	}
	if s.Complex.After < 0 {
		p.add("sla.complex.after", fmt.Sprintf("must not be negative (0 escalates no complex case), got %s", s.Complex.After))
	}
	if strings.TrimSpace(s.Complex.Group) == "" && s.Complex.After > 0 {
		p.add("sla.complex.group", "required: the senior group complex cases go to")
	}
}

// validateAs checks targets under key path.
func (f *FirstResponse) validateAs(p *problems, path string) {
	for _, t := range []struct {
		key string
		v   time.Duration
	}{{"chat", f.Chat}, {"email", f.Email}, {"voice", f.Voice}, {"vip", f.VIP}} {
		if t.v < 0 {
			p.add(path+"."+t.key, fmt.Sprintf("must not be negative (0 sets no target), got %s", t.v))
		}
	}
}
