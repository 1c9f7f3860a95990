package config

import (
	"net"
	"path/filepath"
	"strconv"
	"time"
)

// Default is the configuration used when no file is given: every default applied, no
// channels and no helpdesks. It passes Validate.
func Default() *Config {
	c := baseDefaults()
	c.deriveDefaults()
	return c
}

// baseDefaults returns the defaults that do not depend on other settings. The decoder fills
// the file's values over them, so a key that is absent or null keeps its default while an
// explicit value (even 0) replaces it and is validated.
func baseDefaults() *Config {
	return &Config{
		Listen:  ":8080",
		DataDir: "./data",
		Log:     Log{Level: "info", Format: "json"},
		Store:   Store{Driver: "sqlite"},
		Attachments: Attachments{
			MaxBytes: 25 << 20,
		},
		Delivery: Delivery{
			Workers:     16,
			MaxAttempts: 12,
			BackoffBase: time.Second,
			BackoffMax:  10 * time.Minute,
			BatchSize:   50,
			Lease:       2 * time.Minute,
		},
		ShutdownTimeout: 30 * time.Second,
	}
}

// deriveDefaults fills the settings whose defaults depend on others, after the file has been
// decoded: the SQLite database and the blobs go into data_dir, and public_url points at the
// port of listen.
func (c *Config) deriveDefaults() {
	if c.Store.Driver == "sqlite" && c.Store.DSN == "" && c.DataDir != "" {
		c.Store.DSN = Secret(filepath.Join(c.DataDir, "gateway.db"))
	}
	if c.Attachments.Dir == "" && c.DataDir != "" {
		c.Attachments.Dir = filepath.Join(c.DataDir, "blobs")
	}
	if c.PublicURL == "" {
		// With an invalid listen there is no port to point at; Validate reports listen.
		if port, err := listenPort(c.Listen); err == nil {
			c.PublicURL = "http://" + net.JoinHostPort("localhost", strconv.Itoa(port))
		}
	}
}
