package bugstack

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HTTP delivery of one request (one event, or a batch): gzip, a deadline per request, and the server's
// answer read within bounds. Retrying is the worker's.

const (
	maxRetryAfter   = 300 * time.Second // a longer pause is more likely a misconfigured proxy than a plan
	baseBackoff     = 500 * time.Millisecond
	maxBackoff      = 30 * time.Second
	maxAnswerBytes  = 256 << 10 // a batch's results, one short object per event
	maxDetailLength = 300
)

// reply is what came back: status 0 when no HTTP answer did.
type reply struct {
	status     int
	retryAfter time.Duration // -1: the server did not say
	detail     string
	results    []batchResult // a batch's answer, one per event in order; nil when unreadable
}

// batchResult is the server's answer for one event of a batch.
type batchResult struct {
	Status     int     `json:"status"`
	Detail     string  `json:"detail"`
	RetryAfter float64 `json:"retry_after"`
}

type transport struct {
	client    *http.Client
	key       string
	timeout   time.Duration
	userAgent string
}

func newTransport(key string, timeout time.Duration) *transport {
	// The SDK's own transport: the app's http.DefaultTransport settings (proxies aside) are not ours to use.
	roundTripper := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &transport{
		client:    &http.Client{Transport: roundTripper},
		key:       key,
		timeout:   timeout,
		userAgent: "bugstack-sdk-go/" + Version,
	}
}

// post sends `body` (JSON) gzipped to `target`, within the per-request timeout or until ctx ends.
func (t *transport) post(ctx context.Context, target string, body []byte) reply {
	compressed, err := gzipped(body)
	if err != nil {
		return reply{retryAfter: -1, detail: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(compressed))
	if err != nil {
		return reply{retryAfter: -1, detail: err.Error()}
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Content-Encoding", "gzip")
	request.Header.Set("Authorization", "Bearer "+t.key)
	request.Header.Set("User-Agent", t.userAgent)
	response, err := t.client.Do(request)
	if err != nil {
		return reply{retryAfter: -1, detail: err.Error()}
	}
	defer response.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(response.Body, maxAnswerBytes+1))
	got := reply{
		status:     response.StatusCode,
		retryAfter: parseRetryAfter(response.Header.Get("Retry-After"), time.Now()),
		detail:     detailOf(answer, response.Status),
	}
	if len(answer) <= maxAnswerBytes {
		got.results = resultsOf(answer)
	}
	return got
}

func gzipped(body []byte) ([]byte, error) {
	var buffer bytes.Buffer
	writer := gzip.NewWriter(&buffer)
	if _, err := writer.Write(body); err != nil {
		return nil, err
	}
	if err := writer.Close(); err != nil {
		return nil, err
	}
	return buffer.Bytes(), nil
}

// detailOf is the server's "detail", or the start of its answer, or the status line.
func detailOf(answer []byte, status string) string {
	var parsed struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(answer, &parsed) == nil && parsed.Detail != "" {
		return clip(parsed.Detail, maxDetailLength)
	}
	if text := strings.TrimSpace(string(answer)); text != "" && !strings.HasPrefix(text, "{") {
		return clip(text, maxDetailLength)
	}
	return status
}

func resultsOf(answer []byte) []batchResult {
	var parsed struct {
		Results []batchResult `json:"results"`
	}
	if json.Unmarshal(answer, &parsed) != nil {
		return nil
	}
	return parsed.Results
}

// parseRetryAfter reads seconds or an HTTP date (RFC 9110 §10.2.3), capped at maxRetryAfter; -1 when
// missing or unreadable.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" || len(value) > 64 {
		return -1
	}
	if seconds, err := strconv.ParseFloat(value, 64); err == nil {
		return secondsToWait(seconds)
	}
	if when, err := http.ParseTime(value); err == nil {
		return secondsToWait(when.Sub(now).Seconds())
	}
	return -1
}

// secondsToWait bounds a wait the server asked for to 0…maxRetryAfter.
func secondsToWait(seconds float64) time.Duration {
	if seconds != seconds || seconds <= 0 { // NaN, or now
		return 0
	}
	if seconds >= maxRetryAfter.Seconds() {
		return maxRetryAfter
	}
	return time.Duration(seconds * float64(time.Second))
}

// backoff is exponential with jitter, so many processes that failed together do not retry together.
func backoff(attempt int) time.Duration {
	wait := maxBackoff
	if attempt < 16 {
		wait = minDuration(maxBackoff, baseBackoff<<attempt)
	}
	return time.Duration(float64(wait) * (0.5 + rand.Float64()/2))
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}
