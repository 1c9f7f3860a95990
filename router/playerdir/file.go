package playerdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a directory kept in a YAML file, read once at start:
//
//	players:
//	  - player_id: P-1001
//	    vip_tier: 3
//	    addresses:
//	      - {channel: telegram, address: "123456789"}
//	      - {channel: email, address: ana@example.com}
//
// An address's channel is a channel instance name or a channel type; on e-mail the address
// is the player's mail address.
type File struct {
	byID      map[string]Player
	byAddress map[fileAddress]string // → player ID
}

type fileAddress struct{ channel, address string }

type fileEntry struct {
	Player    `yaml:",inline"`
	Addresses []struct {
		Channel string `yaml:"channel"`
		Address string `yaml:"address"`
	} `yaml:"addresses"`
}

// LoadFile reads the directory at path.
func LoadFile(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("playerdir: %w", err)
	}
	var doc struct {
		Players []fileEntry `yaml:"players"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("playerdir: read %s: %w", path, err)
	}
	f := &File{byID: map[string]Player{}, byAddress: map[fileAddress]string{}}
	for i, e := range doc.Players {
		if e.PlayerID == "" {
			return nil, fmt.Errorf("playerdir: %s: players[%d] has no player_id", path, i)
		}
		if _, dup := f.byID[e.PlayerID]; dup {
			return nil, fmt.Errorf("playerdir: %s: player_id %q is listed twice", path, e.PlayerID)
		}
		f.byID[e.PlayerID] = e.Player
		for j, a := range e.Addresses {
			if a.Channel == "" || a.Address == "" {
				return nil, fmt.Errorf("playerdir: %s: players[%d].addresses[%d] needs channel and address", path, i, j)
			}
			f.byAddress[fileAddress{a.Channel, strings.ToLower(a.Address)}] = e.PlayerID
		}
	}
	return f, nil
}

// Lookup implements Source.
func (f *File) Lookup(_ context.Context, q Query) (Player, error) {
	id := q.PlayerID
	if id == "" {
		for _, k := range []fileAddress{
			{string(q.Channel), strings.ToLower(string(q.Address))},
			{string(q.ChannelKind), strings.ToLower(string(q.Address))},
			{string(q.Channel), strings.ToLower(q.Email)},
			{string(q.ChannelKind), strings.ToLower(q.Email)},
		} {
			if k.address == "" {
				continue
			}
			if found, ok := f.byAddress[k]; ok {
				id = found
				break
			}
		}
	}
	p, ok := f.byID[id]
	if !ok {
		return Player{}, ErrNotFound
	}
	return p, nil
}
