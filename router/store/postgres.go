package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

//go:embed migrations/postgres/*.sql
var postgresFiles embed.FS

// pgWriters is how many committers a replica runs on PostgreSQL, each on its own connection
// with one operation per transaction (dialect.opAlone), so that one operation's round trips
// do not hold back the next. More of them are not faster: with the server on the gateway's two
// CPUs, 20,000-message bursts ran at a median 2,631 msg/s with 8 and 2,958 with 4, the server
// spending 0.35 and 0.29 ms of CPU per message, as transactions waited for each other's lane
// locks (issue 16). Two and three were as fast as four, and one had a p99 of 2-3 s; four
// leaves room for the longer round trips of a server on another machine.
const pgWriters = 4

// migrationLockKey names the advisory lock that replicas migrating at once take in turn.
const migrationLockKey = 0x6761746577617901 // "gateway" and a 1

// postgresDialect is PostgreSQL's: numbered placeholders, row locks that Claim skips, and
// transactions the server may abort to resolve a conflict between replicas.
func postgresDialect() *dialect {
	migrations, err := fs.Sub(postgresFiles, "migrations/postgres")
	if err != nil {
		panic(err) // the embedded directory is there, or the package does not compile
	}
	return &dialect{name: "postgres", migrations: migrations, numbered: true, writers: pgWriters, opAlone: true, arrays: true,
		skipLocked:     " FOR UPDATE SKIP LOCKED",
		lockRow:        " FOR UPDATE",
		asyncCommit:    "SET LOCAL synchronous_commit TO OFF",
		lockMigrations: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey),
		retryable:      pgRetryable, pipeline: pgPipeline,
		mustChange: func(update, with string) string {
			// A division by zero is the one failure a plain query can raise on purpose.
			return `WITH changed AS (` + update + ` RETURNING 1)` + with + ` SELECT 1 / COUNT(*) FROM changed`
		},
		changedNothing: func(err error) bool {
			var pgErr *pgconn.PgError
			return errors.As(err, &pgErr) && pgErr.Code == "22012" // division_by_zero
		}}
}

// readRows gives read the rows of the batch's next result.
func readRows(results pgx.BatchResults, read func(rowReader) error) error {
	rows, err := results.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := read(rows); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// pgPipeline sends queued as one pgx batch on c's connection, inside the transaction c has
// open: one round trip, and a third of the server's CPU per statement (issue 16).
func pgPipeline(ctx context.Context, c *sql.Conn, queued []later) error {
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: pipeline: a %T is no pgx connection", dc)
		}
		var b pgx.Batch
		for _, l := range queued {
			b.Queue(l.query, l.args...)
		}
		results := sc.Conn().SendBatch(ctx, &b)
		var first error
		for _, l := range queued {
			if l.read != nil {
				if first = readRows(results, l.read); first != nil {
					break
				}
				continue
			}
			tag, err := results.Exec()
			switch {
			case err != nil:
				if l.refused != nil {
					err = l.refused(err)
				}
			case l.commit && tag.String() != "COMMIT":
				// A transaction that failed before its COMMIT rolls back instead.
				err = fmt.Errorf("store: the transaction was rolled back (%s)", tag)
			case l.check != nil:
				err = l.check(tag.RowsAffected())
			}
			if err != nil {
				first = err
				break
			}
		}
		// Close reads what is left; after a failed statement the server skipped the rest.
		if err := results.Close(); first == nil {
			first = err
		}
		return first
	})
}

// pgRetryable: deadlock_detected and serialization_failure abort a transaction that would
// succeed when run again.
func pgRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// OpenPostgres connects to the PostgreSQL database of dsn (a URL or key=value connection
// string, as pgx reads them) and applies migrations. Several gateway replicas may open the same
// database: each has its own group-commit writer, claims skip the lanes another replica is
// claiming, and leases left by a replica that died are not released but simply lapse.
//
// It goes through pgx's database/sql driver, so the queries, the group commit and its
// savepoints are the same code as on SQLite; pgx still prepares and caches each statement per
// connection.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts.defaults()
	write, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	// One connection per group committer, and one for migrations and a connection being replaced.
	write.SetMaxOpenConns(pgWriters + 1)
	write.SetMaxIdleConns(pgWriters + 1)
	read, err := sql.Open("pgx", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("store: postgres: connect: %w", err)
	}
	return newStore(ctx, postgresDialect(), read, write, nil, opts)
}
