package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// serverCPU measures the CPU time of a PostgreSQL server that runs on this machine: its
// postmaster's own, its children's (the backends and the background processes), and what it
// reaped of the children that exited. A gateway on PostgreSQL shares the machine's CPUs with
// the server, so the server's CPU per message belongs beside the gateway's (issue 16). It
// counts whatever else the server does meanwhile too.
type serverCPU struct {
	proc       string // the proc file system's root
	postmaster int
}

// localServer finds the postmaster of the server that dsn names, as the parent of a backend
// process. ok is false when that backend is no process of this machine's.
func localServer(ctx context.Context, dsn string) (s serverCPU, ok bool, err error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return serverCPU{}, false, fmt.Errorf("postgres: %w", err)
	}
	defer db.Close()
	var backend int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return serverCPU{}, false, fmt.Errorf("postgres: backend PID: %w", err)
	}
	s.proc = "/proc"
	st, err := s.stat(backend)
	if errors.Is(err, fs.ErrNotExist) {
		return serverCPU{}, false, nil
	}
	if err != nil {
		return serverCPU{}, false, err
	}
	s.postmaster = st.ppid
	return s, true, nil
}

func (s serverCPU) stat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(s.proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

// cpu returns the server's CPU time so far. A child that exits while it reads may be counted
// twice or not at all: a backend's few milliseconds, against the seconds of a run.
func (s serverCPU) cpu() (time.Duration, error) {
	pm, err := s.stat(s.postmaster)
	if err != nil {
		return 0, fmt.Errorf("postmaster: %w", err)
	}
	total := pm.own + pm.reaped
	entries, err := os.ReadDir(s.proc)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.postmaster {
			continue
		}
		st, err := s.stat(pid)
		if err != nil {
			continue // gone, or not a process's directory
		}
		if st.ppid == s.postmaster {
			total += st.own
		}
	}
	return total, nil
}
