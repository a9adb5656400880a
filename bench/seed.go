package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"time"
)

// seedUsers creates users 1..n through POST /v1/users on the server at
// baseURL with the given number of concurrent workers. Every request must
// answer 200 or 201; the first one that does not stops the seeding and is
// returned as the error.
func seedUsers(ctx context.Context, baseURL, key string, n, workers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
	}
	defer client.CloseIdleConnections()

	start := time.Now()
	ids := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range ids {
				if err := seedOne(ctx, client, baseURL, key, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for i := 1; i <= n; i++ {
		select {
		case ids <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(ids)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	el := time.Since(start)
	log.Printf("seeded %d users in %s (%.0f/s, %d workers)", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), workers)
	return nil
}

// seedOne creates seeded user i.
func seedOne(ctx context.Context, client *http.Client, baseURL, key string, i int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/users", bytes.NewReader(seedBody(i)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /v1/users %s: %w", userID(i), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("POST /v1/users %s: %s: %s", userID(i), resp.Status, bytes.TrimSpace(body))
	}
	// Drain the body so that the connection is reused.
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
