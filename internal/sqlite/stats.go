package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Planner statistics. Without the statistics ANALYZE gathers, SQLite takes
// an equality on an index's first column as selective, so a count over an
// environment that holds most of its table (a segment's memberCount) reads
// every row through the listing index, one lookup each, instead of
// scanning the table: 1.5 times as long at a million users. The store
// keeps sqlite_stat1 current for the tables that segment conditions read,
// running ANALYZE on one when it has doubled since it was last analyzed:
// ANALYZE reads the whole table, about half a second per million users,
// and so costs a backfill from nothing to n rows about 2n rows read.

// statTables are the tables whose statistics the store keeps.
var statTables = []string{"users", "companies", "memberships"}

// statMinRows is the size below which a table is not worth analyzing: the
// planner's default guesses serve small tables well enough.
const statMinRows = 10_000

// statInterval is how often the statistics keeper looks at the tables'
// growth between imports.
const statInterval = time.Minute

// statsKeeper looks after the planner statistics of an Exclusive store:
// at start, every statInterval and after each import, it analyzes the
// tables that have doubled.
type statsKeeper struct {
	kick     chan struct{}
	stop     context.CancelFunc
	done     chan struct{}
	analyzed map[string]int64 // a table's rows as last analyzed; keeper-owned
}

// startStats starts the statistics keeper of s.
func (s *Store) startStats() {
	ctx, cancel := context.WithCancel(context.Background())
	k := &statsKeeper{kick: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	s.stats = k
	go func() {
		defer close(k.done)
		t := time.NewTicker(statInterval)
		defer t.Stop()
		for {
			if err := s.refreshStats(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("sqlite: planner statistics not refreshed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-k.kick:
			}
		}
	}()
}

// kickStats makes a started statistics keeper look at the tables now (or
// as soon as its current pass ends).
func (s *Store) kickStats() {
	if s.stats == nil {
		return
	}
	select {
	case s.stats.kick <- struct{}{}:
	default:
	}
}

// stopStats stops a started statistics keeper and waits for it.
func (s *Store) stopStats() {
	if s.stats != nil {
		s.stats.stop()
		<-s.stats.done
	}
}

// refreshStats analyzes each of statTables with at least statMinRows rows
// and twice the rows it had when last analyzed. A table's rows are its
// largest rowid, which deletions leave as it was: an estimate from above
// that costs one step down the table's b-tree.
func (s *Store) refreshStats(ctx context.Context) error {
	k := s.stats
	if k.analyzed == nil {
		analyzed, err := s.analyzedRows(ctx)
		if err != nil {
			return err
		}
		k.analyzed = analyzed
	}
	for _, table := range statTables {
		var rows int64
		if err := s.rdb.QueryRowContext(ctx, "SELECT coalesce(max(rowid), 0) FROM "+table).Scan(&rows); err != nil {
			return err
		}
		if rows < statMinRows || rows < 2*k.analyzed[table] {
			continue
		}
		start := time.Now()
		if err := s.write(ctx, func(w *wtx) error {
			_, err := w.q.ExecContext(w.ctx, "ANALYZE "+table)
			return err
		}); err != nil {
			return err
		}
		k.analyzed[table] = rows
		s.log.Info("sqlite: analyzed table for the query planner", "table", table, "rows", rows, "duration", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// analyzedRows returns the rows of each table as sqlite_stat1 last
// recorded them: the first number of the statistics of its indexes.
func (s *Store) analyzedRows(ctx context.Context) (map[string]int64, error) {
	analyzed := map[string]int64{}
	rows, err := s.rdb.QueryContext(ctx, "SELECT tbl, stat FROM sqlite_stat1")
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return analyzed, nil // never analyzed
		}
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var stat sql.NullString
		if err := rows.Scan(&table, &stat); err != nil {
			return nil, err
		}
		first, _, _ := strings.Cut(stat.String, " ")
		if n, err := strconv.ParseInt(first, 10, 64); err == nil && n > analyzed[table] {
			analyzed[table] = n
		}
	}
	return analyzed, errors.Join(rows.Err(), rows.Close())
}
