// Package feed serves the change feed (webhooks.md §4): the pages of an
// environment's change log that GET /v1/changes and v2's GET E/changes
// answer, read at once or, with wait, as soon as a change commits.
package feed

import (
	"context"
	"time"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// The bounds of the parameters.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	MaxWait      = 60 // seconds
)

// Request is a read of the feed.
type Request struct {
	Query userdata.ChangeQuery
	Wait  time.Duration // how long to wait for a change when none follows
	// TypesGiven reports whether the request named types; Query.Types is
	// then theirs, else every type (the caller may narrow it).
	TypesGiven bool
}

// Parse reads after, limit, types and wait of a query. It returns
// CodeInvalid errors for values out of their bounds and for types that
// are not topics (userdata.ParseTopics).
func Parse(q wire.Query) (Request, error) {
	r := Request{Query: userdata.ChangeQuery{Types: userdata.AllChanges}}
	var err error
	if r.Query.After, _, err = q.Single("after"); err != nil {
		return r, err
	}
	if r.Query.Limit, err = q.Int("limit", DefaultLimit, 1, MaxLimit); err != nil {
		return r, err
	}
	wait, err := q.Int("wait", 0, 0, MaxWait)
	if err != nil {
		return r, err
	}
	r.Wait = time.Duration(wait) * time.Second
	types, err := q.List("types", true)
	if err != nil || types == nil {
		return r, err
	}
	r.TypesGiven = true
	r.Query.Types, err = userdata.ParseTopics("types", types)
	return r, err
}

// Read returns the page of the environment's feed that r asks for: at once
// when changes follow r's position, else the first changes to commit
// within r.Wait, or an empty page once it has passed, or stop is closed
// (the server is shutting down). The position "now" is taken once, when
// the wait begins.
func Read(ctx context.Context, log userdata.ChangeLog, envID string, r Request, stop <-chan struct{}) (*wire.ChangeList, error) {
	var timeout <-chan time.Time
	if r.Wait > 0 {
		t := time.NewTimer(r.Wait)
		defer t.Stop()
		timeout = t.C
	}
	q := r.Query
	for {
		signal := log.ChangeSignal() // before reading: a commit after the read closes it
		p, err := log.Changes(ctx, envID, q)
		if err != nil {
			return nil, err
		}
		if len(p.Changes) > 0 || timeout == nil {
			return &wire.ChangeList{Changes: p.Changes, Next: p.Next}, nil
		}
		q.After = p.Next
		select {
		case <-signal:
		case <-timeout:
			return &wire.ChangeList{Changes: p.Changes, Next: p.Next}, nil
		case <-stop:
			return &wire.ChangeList{Changes: p.Changes, Next: p.Next}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
