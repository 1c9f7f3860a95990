// Package phone normalizes phone numbers to E.164 ("+4930123456"), the one form a number
// takes as a conversation address on every channel that knows players by their number
// (voice, SMS, WhatsApp), so that a caller is the same player across calls and matches their
// WhatsApp conversation. It wraps github.com/nyaruka/phonenumbers, the Go port of Google's
// libphonenumber, whose metadata knows every country's numbering plan.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is wrapped by errors about input that is no valid phone number.
var ErrInvalid = errors.New("not a valid phone number")

// E164 returns raw in E.164 form: "+", the country code and the national number, digits
// only. raw may be written in any common way ("+49 30 1234567", "0049-30-1234567",
// "(030) 1234567" with defaultRegion "DE"); a number without an international prefix is
// read as a number of defaultRegion (an ISO 3166 region such as "DE"; empty allows only
// international input). A number the numbering plan does not allow is an error wrapping
// ErrInvalid: callers keep such input apart rather than merge different players under a
// broken address.
func E164(raw, defaultRegion string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("phone: empty number: %w", ErrInvalid)
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(defaultRegion))
	if err != nil {
		return "", fmt.Errorf("phone: %q: %w: %w", raw, ErrInvalid, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("phone: %q: %w", raw, ErrInvalid)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// Region returns the ISO 3166 region of an E.164 number ("DE" for "+4930…"), or "" when the
// number belongs to no single region (a non-geographic number) or is not valid.
func Region(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if region == "ZZ" {
		return ""
	}
	return region
}

// ValidRegion reports whether region is a region code the numbering plans know ("DE", "GB").
func ValidRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) != 0
}

// HasPrefix reports whether the E.164 number e164 starts with prefix, itself written in E.164
// style ("+4915", "+44 7"): spaces and dashes in prefix are ignored. Lists of number ranges
// in configuration (mobile ranges, landline ranges) are matched with it.
func HasPrefix(e164, prefix string) bool {
	p := strings.NewReplacer(" ", "", "-", "").Replace(prefix)
	return p != "" && strings.HasPrefix(e164, p)
}
