package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/casino-support/gateway/connectors/channel/whatsapp/wamsg"
	"github.com/casino-support/gateway/normalize"
)

// PairProgress is one step of pairing to show the operator.
type PairProgress struct {
	// QRCode is the code to show as a QR image; the phone scans it in Settings → Linked
	// devices → Link a device.
	QRCode string
	// Expires is how long QRCode is valid before the next one comes.
	Expires time.Duration
	// PairCode is the code to type on the phone (Link with phone number instead), when pairing
	// by phone number; it stays valid for the whole round.
	PairCode string
}

// numberPunctuation is what people write phone numbers with besides digits and the "+".
var numberPunctuation = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "", "/", "")

var (
	// ErrPairTimeout: nobody scanned a QR code (or entered the pairing code) in time.
	ErrPairTimeout = errors.New("no phone linked the device in time")
	// ErrAlreadyPaired: the session holds a linked device already.
	ErrAlreadyPaired = errors.New("already paired")
)

// pairDevice links cli's unpaired session: it connects, shows every QR code (and with phone,
// a pairing code) through show, and returns nil once a phone linked it; ErrPairTimeout when
// WhatsApp's round of codes (about 2.5 minutes) ran out first. A number received from phones
// (nil: none come) asks for a pairing code for it within the round, shown with the current QR
// code; one received before the first code waits for it, as phone does.
func pairDevice(ctx context.Context, cli Client, phone string, phones <-chan string, show func(PairProgress)) error {
	qrCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	qr, err := cli.GetQRChannel(qrCtx)
	if err != nil {
		return fmt.Errorf("pairing: %w", err)
	}
	if err := cli.Connect(ctx); err != nil {
		return fmt.Errorf("pairing: connect to WhatsApp: %w", err)
	}
	var (
		pairCode string
		current  PairProgress // the code shown last; QRCode "" until the first came
		shownAt  time.Time
	)
	askCode := func(phone string) error {
		code, err := cli.PairPhone(ctx, phone)
		if err != nil {
			return fmt.Errorf("pairing: ask for a pairing code for +%s: %w", phone, err)
		}
		pairCode = code
		return nil
	}
	for {
		var item whatsmeow.QRChannelItem
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-phones:
			if current.QRCode == "" {
				phone = p
				continue
			}
			if err := askCode(p); err != nil {
				return err
			}
			current.PairCode, current.Expires = pairCode, max(current.Expires-time.Since(shownAt), 0)
			shownAt = time.Now()
			show(current)
			continue
		case item, ok = <-qr:
		}
		switch {
		case !ok, item == whatsmeow.QRChannelTimeout:
			return ErrPairTimeout
		case item == whatsmeow.QRChannelSuccess:
			return nil
		case item.Event == whatsmeow.QRChannelEventCode:
			if phone != "" && pairCode == "" {
				// Asked once the connection stands (the first code proves it); the code
				// holds for the rest of the round.
				if err := askCode(phone); err != nil {
					return err
				}
			}
			current, shownAt = PairProgress{QRCode: item.Code, Expires: item.Timeout, PairCode: pairCode}, time.Now()
			show(current)
		case item.Event == whatsmeow.QRChannelEventError:
			return fmt.Errorf("pairing failed: %w", item.Error)
		case item == whatsmeow.QRChannelScannedWithoutMultidevice:
			return errors.New("pairing failed: the phone's WhatsApp is too old for linked devices; update it and try again")
		case item == whatsmeow.QRChannelClientOutdated:
			return errors.New("pairing failed: WhatsApp refuses this client version as outdated; update the gateway")
		default:
			return fmt.Errorf("pairing failed: %s", item.Event)
		}
	}
}

// pairNumber returns the digits WhatsApp's PairPhone takes for phone, a number in E.164; the
// spaces, dashes and brackets people write numbers with are dropped.
func pairNumber(phone string) (string, error) {
	a, err := wamsg.Address(numberPunctuation.Replace(phone))
	if err != nil {
		return "", err
	}
	return wamsg.WaID(a)
}

// PairOptions are the settings of Pair.
type PairOptions struct {
	// Instance is the channel's name, which names its session's schema on PostgreSQL.
	Instance normalize.InstanceName
	// Database is the instance's session database (its database setting).
	Database string
	// Postgres is the gateway store's connection string when the store is PostgreSQL, where
	// the session then is (Deps.Postgres).
	Postgres string
	// Phone pairs by code for this number (E.164, "+4917..."), typed on the phone under
	// Link with phone number instead; empty shows only QR codes.
	Phone string
	// Show is called with every code to show.
	Show func(PairProgress)
	// Log receives whatsmeow's log lines; nil discards them.
	Log *slog.Logger
}

// connectedWait bounds the wait for the first connection after a phone linked the device:
// WhatsApp makes the new device reconnect before it is fully set up.
const connectedWait = 45 * time.Second

// Pair links the session at opts.Database to a phone, from a terminal, and returns the linked
// number (E.164). A session that is paired already gives ErrAlreadyPaired with its number; one
// a running gateway holds, ErrSessionInUse; none scanned in one round, ErrPairTimeout.
func Pair(ctx context.Context, opts PairOptions) (account string, err error) {
	var phone string
	if opts.Phone != "" {
		var err error
		if phone, err = pairNumber(opts.Phone); err != nil {
			return "", fmt.Errorf("--phone: %w", err)
		}
	}
	s, err := openInstanceSession(ctx, opts.Instance, opts.Database, opts.Postgres, opts.Log)
	if err != nil {
		return "", err
	}
	defer s.Close()
	cli, err := s.NewClient(ctx)
	if err != nil {
		return "", err
	}
	return pairClient(ctx, cli, phone, opts.Show)
}

// pairClient pairs cli and waits until it connected as the linked device.
func pairClient(ctx context.Context, cli Client, phone string, show func(PairProgress)) (string, error) {
	if cli.Paired() {
		a, _ := wamsg.Address(cli.OwnID().User)
		return string(a), ErrAlreadyPaired
	}
	connected := make(chan struct{}, 1)
	cli.AddEventHandler(func(evt any) bool {
		switch evt.(type) {
		case *events.Connected:
			select {
			case connected <- struct{}{}:
			default:
			}
		case *events.Message:
			// Not this command's to take: unacknowledged, WhatsApp hands it (and the history
			// sync it may announce) to the gateway when it connects.
			return false
		}
		return true
	})
	defer cli.Disconnect()
	if err := pairDevice(ctx, cli, phone, nil, show); err != nil {
		return "", err
	}
	a, _ := wamsg.Address(cli.OwnID().User)
	t := time.NewTimer(connectedWait)
	defer t.Stop()
	select {
	case <-connected:
	case <-t.C:
		// Linked all the same: the keys are stored; the gateway connects with them.
	case <-ctx.Done():
		return string(a), ctx.Err()
	}
	return string(a), nil
}
