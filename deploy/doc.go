// Package deploy holds the operator examples for running the gateway (systemd, Docker
// Compose, Kubernetes) and, in its tests, the checks that keep them agreeing with the
// gateway, its config loader and its Dockerfile. It has no code of its own.
package deploy
