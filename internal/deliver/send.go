package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tourd/internal/buildinfo"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// Timeout bounds an attempt: a receiver that has not answered by then
// failed it (webhooks.md §3).
const Timeout = 10 * time.Second

// drainLimit is how much of a response's body past MaxResponseLog an
// attempt reads, so that its connection can serve the next one; a longer
// body closes the connection.
const drainLimit = 64 << 10

// newClient returns the HTTP client of deliveries: it connects through
// the guard's dialer (no private address unless allowed, checked on the
// address connected to), follows no redirect (a 3xx fails the attempt),
// uses no proxy (a proxy would resolve the name past the guard), and
// keeps up to perHost connections to each receiver.
func newClient(g *webhook.Guard, perHost int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           g.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   perHost,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   Timeout,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// userAgent is the User-Agent of deliveries.
var userAgent = "tourd-webhooks/" + buildinfo.Read().Version

// attempt makes attempt number n at delivery dl: a POST of its body to
// its URL, signed with its secret, within Timeout. It returns the attempt
// and, for a 429 or 503, the receiver's Retry-After.
func (d *Deliverer) attempt(ctx context.Context, dl *userdata.Delivery, n int) (userdata.Attempt, time.Duration) {
	start := d.now()
	a := userdata.Attempt{Number: n, At: start}
	req, err := d.request(ctx, dl, start)
	if err != nil {
		a.Error = err.Error()
		return a, 0
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	res, err := d.client.Do(req.WithContext(ctx))
	a.Duration = time.Since(start)
	if err != nil {
		a.Error = sendError(err)
		return a, 0
	}
	defer res.Body.Close()
	head, err := io.ReadAll(io.LimitReader(res.Body, userdata.MaxResponseLog))
	if err == nil {
		_, err = io.CopyN(io.Discard, res.Body, drainLimit)
	}
	a.Duration = time.Since(start)
	a.HTTPStatus, a.Response = res.StatusCode, responseText(head)
	a.OK = res.StatusCode >= 200 && res.StatusCode < 300
	switch {
	case a.OK && err != nil && !errors.Is(err, io.EOF):
		// Answered 2xx, then broke off: the answer stands.
	case !a.OK && res.StatusCode >= 300 && res.StatusCode < 400:
		a.Error = fmt.Sprintf("HTTP %d: redirects are not followed", res.StatusCode)
	case !a.OK:
		a.Error = "HTTP " + strconv.Itoa(res.StatusCode)
	}
	return a, retryAfter(res, d.now())
}

// request returns the signed POST of a delivery, sent at now. It fails
// when the webhook's secret cannot be read.
func (d *Deliverer) request(ctx context.Context, dl *userdata.Delivery, now time.Time) (*http.Request, error) {
	secret := d.secrets.Open(dl.Secret)
	t := now.Unix()
	standard, err := webhook.SignStandard(secret, dl.ID, t, dl.Body)
	if err != nil {
		return nil, errors.New("the signing secret cannot be read: rotate it")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return nil, fmt.Errorf("the URL cannot be requested: %v", err)
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{userAgent}
	h[webhook.HeaderSignature] = []string{webhook.Sign(secret, t, dl.Body)}
	h[webhook.HeaderStandardID] = []string{dl.ID}
	h[webhook.HeaderStandardTimestamp] = []string{strconv.FormatInt(t, 10)}
	h[webhook.HeaderStandardSignatures] = []string{standard}
	return req, nil
}

// sendError describes why a request got no answer, for the attempt's
// log.
func sendError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s", Timeout)
	}
	return err.Error()
}

// responseText returns the start of a response's body as an attempt keeps
// it: valid UTF-8 (invalid bytes and NUL characters replaced by U+FFFD),
// cut to at most MaxResponseLog bytes between characters.
func responseText(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	for len(s) > userdata.MaxResponseLog {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
