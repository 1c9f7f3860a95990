package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheckCmd asks the running gateway's GET /readyz and exits 0 only on 200. It exists
// for container healthchecks: the image is FROM scratch, so there is no shell, curl or wget
// to ask with, and Docker's healthcheck runs a command inside the container.
func healthcheckCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: GATEWAY_CONFIG or the embedded default)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The same file as serve's, so the check follows listen wherever the operator moves it.
	cfg, err := loadConfig(*path, env)
	if err != nil {
		fmt.Fprintf(stderr, "gateway healthcheck: %v\n", err)
		return 1
	}
	url, err := readyURL(cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "gateway healthcheck: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "gateway healthcheck: %v\n", err)
		return 1
	}
	// No proxy: HTTP_PROXY in the container's environment is for the connectors' way out, and
	// a proxy cannot reach the gateway's own address anyway. One request: nothing to keep alive.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "gateway healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	// Docker keeps the output in the container's health log: the reason belongs there.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "gateway healthcheck: %s: %s: %s\n", url, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, strings.TrimSpace(string(body)))
	return 0
}

// readyURL is where a process on the gateway's own host reaches /readyz: an address listen
// binds to every interface of (":8080", "0.0.0.0:8080", "[::]:8080") is asked on 127.0.0.1,
// any other on its own host.
func readyURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if port == "0" {
		return "", errors.New("listen has port 0, a port chosen at start: there is no fixed port to ask")
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
