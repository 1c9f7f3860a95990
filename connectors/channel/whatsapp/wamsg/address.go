package wamsg

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/casino-support/gateway/normalize"
)

// ErrAddress is wrapped by the errors of Address and WaID: what was given is no phone number
// WhatsApp can have.
var ErrAddress = errors.New("not a WhatsApp phone number")

// Address returns a WhatsApp user's conversation address, the E.164 number "+491701234567",
// from a wa_id or a JID's user part (digits, a leading + allowed). The number must be one
// github.com/nyaruka/phonenumbers takes for valid, or one of the forms WhatsApp itself keeps
// for numbers whose plan changed (see legacyForm); anything else is an error wrapping
// ErrAddress.
//
// The digits are kept as WhatsApp gave them, not rewritten to today's form: WaID gives them
// back unchanged, and they are what reaches the same account again.
func Address(waID string) (normalize.Address, error) {
	digits := strings.TrimPrefix(strings.TrimSpace(waID), "+")
	if err := checkDigits(digits); err != nil {
		return "", fmt.Errorf("wamsg: wa_id %q: %w", waID, err)
	}
	return normalize.Address("+" + digits), nil
}

// WaID is the reverse of Address: the digits of a conversation address, for a JID's user part
// and the Cloud API's "to".
func WaID(a normalize.Address) (string, error) {
	s := string(a)
	if !strings.HasPrefix(s, "+") {
		return "", fmt.Errorf("wamsg: address %q: %w: no leading +", s, ErrAddress)
	}
	if err := checkDigits(s[1:]); err != nil {
		return "", fmt.Errorf("wamsg: address %q: %w", s, err)
	}
	return s[1:], nil
}

// checkDigits accepts the international number digits (country code first, no +).
func checkDigits(digits string) error {
	// E.164 allows at most 15 digits; fewer than 7 is no subscriber number anywhere.
	if len(digits) < 7 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" || digits[0] == '0' {
		return fmt.Errorf("%w: want 7 to 15 digits starting with the country code", ErrAddress)
	}
	n, err := phonenumbers.Parse("+"+digits, "")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAddress, err)
	}
	if phonenumbers.IsValidNumber(n) || legacyForm(digits) {
		return nil
	}
	return fmt.Errorf("%w: no valid number in its country's numbering plan", ErrAddress)
}

// legacyForm reports the wa_ids WhatsApp still uses for accounts made before their country's
// numbering plan changed, which libphonenumber no longer takes for valid: Mexican mobiles with
// the "1" after 52 that Mexico dropped in 2019 (521 + ten digits), and Brazilian mobiles
// without the ninth digit added from 2012 on (55 + area + eight digits). Refusing them would
// refuse real players; each is accepted when its current form is valid.
func legacyForm(digits string) bool {
	valid := func(s string) bool {
		n, err := phonenumbers.Parse("+"+s, "")
		return err == nil && phonenumbers.IsValidNumber(n)
	}
	switch {
	case strings.HasPrefix(digits, "521") && len(digits) == 13:
		return valid("52" + digits[3:])
	case strings.HasPrefix(digits, "55") && len(digits) == 12:
		return valid(digits[:4] + "9" + digits[4:])
	}
	return false
}
