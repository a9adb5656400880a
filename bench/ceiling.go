package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The ceiling server is the upper bound tourd is compared with: a minimal
// net/http server that does the HTTP and JSON work of the user endpoints
// (routing with ServeMux patterns, checking the Authorization header,
// decoding the request body, encoding a user object) and nothing else: no
// storage, no validation beyond the basics, no logging.

// ceilingUpsert is the request body of POST /v1/users, shaped like
// tourd's.
type ceilingUpsert struct {
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
}

// ceilingPut is the request body of the v2 user PUT, shaped like tourd's
// (strict: no other member).
type ceilingPut struct {
	Attributes map[string]any `json:"attributes"`
}

// ceilingUser is the user object the ceiling server answers with, shaped
// like tourd's.
type ceilingUser struct {
	ID             string         `json:"id"`
	Object         string         `json:"object"`
	Attributes     map[string]any `json:"attributes"`
	CreatedAt      string         `json:"createdAt"`
	CreatedAtSnake string         `json:"created_at"`
	Companies      []any          `json:"companies"`
	Memberships    []any          `json:"memberships"`
}

// ceilingCreatedAt is the fixed creation time of every ceiling user.
const ceilingCreatedAt = "2026-11-27T10:00:00.000Z"

// ceilingHandler returns the ceiling server's handler.
func ceilingHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ready"}`)
	})
	mux.HandleFunc("POST /v1/users", func(w http.ResponseWriter, r *http.Request) {
		if !ceilingAuthorized(w, r) {
			return
		}
		var in ceilingUpsert
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
			ceilingError(w, http.StatusBadRequest, "invalid JSON body")
			return
		}
		if in.ID == "" {
			ceilingError(w, http.StatusBadRequest, "id is required")
			return
		}
		ceilingUpserted(w, in.ID, in.Attributes)
	})
	mux.HandleFunc("PUT /v2/projects/{projectId}/environments/{environmentId}/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !ceilingAuthorized(w, r) {
			return
		}
		var in ceilingPut
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			ceilingError(w, http.StatusBadRequest, "invalid JSON body")
			return
		}
		ceilingUpserted(w, r.PathValue("id"), in.Attributes)
	})
	mux.HandleFunc("GET /v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !ceilingAuthorized(w, r) {
			return
		}
		id := r.PathValue("id")
		ceilingJSON(w, http.StatusOK, ceilingUser{
			ID:     id,
			Object: "user",
			Attributes: map[string]any{
				"name":          "User",
				"email":         id + "@example.com",
				"plan":          "pro",
				"seats":         7,
				"active":        true,
				"last_login":    ceilingCreatedAt,
				"first_seen_at": ceilingCreatedAt,
				"last_seen_at":  ceilingCreatedAt,
			},
			CreatedAt:      ceilingCreatedAt,
			CreatedAtSnake: ceilingCreatedAt,
		})
	})
	return mux
}

// ceilingUpserted answers an upsert of user id with attrs as tourd does:
// with the stored attributes, which include the ones it maintains itself.
func ceilingUpserted(w http.ResponseWriter, id string, attrs map[string]any) {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	if attrs == nil {
		attrs = make(map[string]any, 2)
	}
	attrs["first_seen_at"] = ceilingCreatedAt
	attrs["last_seen_at"] = now
	ceilingJSON(w, http.StatusOK, ceilingUser{ID: id, Object: "user", Attributes: attrs, CreatedAt: now, CreatedAtSnake: now})
}

// ceilingAuthorized answers 401 and returns false when the request has no
// Authorization header.
func ceilingAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "" {
		ceilingError(w, http.StatusUnauthorized, "missing Authorization header")
		return false
	}
	return true
}

// ceilingJSON writes v as a JSON response with the given status.
func ceilingJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ceilingError writes a JSON error response.
func ceilingError(w http.ResponseWriter, status int, msg string) {
	ceilingJSON(w, status, map[string]string{"error": msg})
}

// runCeiling serves the ceiling handler on addr until SIGTERM or SIGINT,
// then shuts down gracefully.
func runCeiling(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("ceiling server address %s is not a loopback address", addr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ceilingHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("ceiling server listening on %s", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Print("ceiling server stopped")
	return nil
}
