package bugstack

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The worker: a bounded queue drained by one background goroutine. Capturing only puts an event on the
// queue, or drops and counts it when the queue is full: the goroutine that reports never waits. The
// background goroutine prepares each event (frames, source lines, BeforeSend, redaction) and sends it;
// events that queued while a request was out go together in the next one, to the batch URL.

const (
	maxBatch      = 100      // events in one batch request, the server's limit
	maxBatchBytes = 16 << 20 // uncompressed; the server refuses batches over 20 MiB
)

// Stats count what happened to the events captured since the client started.
type Stats struct {
	Queued    int64 // captured, not yet sent nor given up on
	Sent      int64 // accepted by bugstack
	Dropped   int64 // not queued: the queue was full
	Rejected  int64 // refused by bugstack for good (400, 401, 403, 413, 415): retrying cannot help
	Failed    int64 // retries used up, or not sent before Close
	Discarded int64 // dropped by BeforeSend
}

type outcome int

const (
	sent outcome = iota
	rejected
	failed
	discarded
)

// item is one prepared event on its way: its JSON and how often it was tried.
type item struct {
	id       string
	body     []byte
	attempts int
}

type worker struct {
	queue      chan *Event
	prepare    func(*Event) ([]byte, outcome) // JSON for the wire, or why there is none
	transport  *transport
	dest       destination
	maxRetries int
	log        *logger

	sent, dropped, rejected, failed, discarded atomic.Int64

	mu      sync.Mutex
	pending int             // submitted and not yet settled
	idle    []chan struct{} // closed when pending reaches 0

	ctx       context.Context // cancelled by stop: waits and requests end at once
	cancel    context.CancelFunc
	done      chan struct{}
	notBefore time.Time // before it the server asked not to hear from us; the goroutine's alone
	noBatches bool      // the server answered 404 at the batch URL (it predates batches): send one by one
}

func newWorker(queueSize int, dest destination, transport *transport, maxRetries int, log *logger,
	prepare func(*Event) ([]byte, outcome)) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		queue:      make(chan *Event, queueSize),
		prepare:    prepare,
		transport:  transport,
		dest:       dest,
		maxRetries: maxRetries,
		log:        log,
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
	}
	go w.run()
	return w
}

// hasRoom lets a caller skip building an event that would be dropped.
func (w *worker) hasRoom() bool {
	return len(w.queue) < cap(w.queue)
}

// submit queues the event, or drops and counts it when the queue is full; it never blocks.
func (w *worker) submit(event *Event) bool {
	w.mu.Lock()
	w.pending++
	w.mu.Unlock()
	select {
	case w.queue <- event:
		return true
	default:
		w.settleCount(1)
		w.drop()
		return false
	}
}

func (w *worker) drop() {
	dropped := w.dropped.Add(1)
	if dropped&(dropped-1) == 0 { // 1, 2, 4, 8…: visible without flooding the log
		w.log.warn("bugstack's event queue is full; %d events dropped so far", dropped)
	}
}

func (w *worker) stats() Stats {
	w.mu.Lock()
	queued := w.pending
	w.mu.Unlock()
	return Stats{
		Queued:    int64(queued),
		Sent:      w.sent.Load(),
		Dropped:   w.dropped.Load(),
		Rejected:  w.rejected.Load(),
		Failed:    w.failed.Load(),
		Discarded: w.discarded.Load(),
	}
}

// flush waits until everything submitted was settled (true) or the timeout passed (false).
func (w *worker) flush(timeout time.Duration) bool {
	w.mu.Lock()
	if w.pending == 0 {
		w.mu.Unlock()
		return true
	}
	idle := make(chan struct{})
	w.idle = append(w.idle, idle)
	w.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-idle:
		return true
	case <-timer.C:
		w.forget(idle)
		return false
	}
}

func (w *worker) forget(idle chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for index, waiting := range w.idle {
		if waiting == idle {
			w.idle = append(w.idle[:index], w.idle[index+1:]...)
			return
		}
	}
}

// stop ends the background goroutine: a wait for a retry or a request still out ends at once.
func (w *worker) stop() {
	w.cancel()
	<-w.done
}

func (w *worker) run() {
	defer close(w.done)
	for {
		select {
		case <-w.ctx.Done():
			return
		case event := <-w.queue:
			w.deliverSafely(event)
		}
	}
}

// deliverSafely delivers `first` and what queued behind it; the goroutine must outlive any bad event.
func (w *worker) deliverSafely(first *Event) {
	var items []*item
	defer func() {
		if failure := recover(); failure != nil {
			w.log.warn("bugstack could not send %d events: %v", len(items), failure)
			w.settle(items, failed)
		}
	}()
	items = w.topUp(w.add(nil, first))
	for len(items) > 0 {
		if !w.wait() {
			w.settle(items, failed)
			return
		}
		items = w.topUp(w.send(items))
	}
}

// topUp adds the events that queued meanwhile, up to a batch's limits.
func (w *worker) topUp(items []*item) []*item {
	size := 0
	for _, queued := range items {
		size += len(queued.body)
	}
	for len(items) < maxBatch && size < maxBatchBytes-maxEventBytes {
		select {
		case event := <-w.queue:
			items = w.add(items, event)
			if len(items) > 0 {
				size += len(items[len(items)-1].body)
			}
		default:
			return items
		}
	}
	return items
}

// add prepares `event` and appends it; an event BeforeSend dropped, or that cannot be encoded, is settled.
func (w *worker) add(items []*item, event *Event) []*item {
	body, result := w.prepareSafely(event)
	if result != sent {
		w.settleOne(result)
		return items
	}
	return append(items, &item{id: event.EventID, body: body})
}

func (w *worker) prepareSafely(event *Event) (body []byte, result outcome) {
	defer func() {
		if failure := recover(); failure != nil {
			w.log.warn("bugstack could not prepare event %s; it was dropped: %v", event.EventID, failure)
			body, result = nil, failed
		}
	}()
	return w.prepare(event)
}

// wait sleeps until the server's Retry-After (or the backoff) passed; false when stopping.
func (w *worker) wait() bool {
	delay := time.Until(w.notBefore)
	if delay <= 0 {
		return w.ctx.Err() == nil
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// send posts the items, one alone to the events URL and several to the batch URL, settles what the
// answer settles and returns the items to try again.
func (w *worker) send(items []*item) []*item {
	if len(items) > 1 && w.noBatches {
		return append(w.send(items[:1]), items[1:]...)
	}
	target, body := w.dest.eventsURL, items[0].body
	if len(items) > 1 {
		target, body = w.dest.batchURL, batchBody(items)
	}
	answer := w.transport.post(w.ctx, target, body)
	if len(items) > 1 && answer.status == http.StatusNotFound {
		w.log.debugf("bugstack's server has no batch endpoint; sending events one at a time")
		w.noBatches = true
		return items
	}
	switch {
	case answer.status >= 200 && answer.status < 300:
		return w.settleResults(items, answer)
	case answer.status == 0 || answer.status == 429 || answer.status >= 500:
		return w.retryLater(items, answer.retryAfter, answer.describe())
	}
	w.log.warn("bugstack refused %d event(s) (%s): not retried", len(items), answer.describe())
	w.settle(items, rejected)
	return nil
}

// settleResults reads a batch's per-event results; an answer without them accepted every event.
func (w *worker) settleResults(items []*item, answer reply) []*item {
	if len(items) == 1 || len(answer.results) != len(items) {
		w.settle(items, sent)
		return nil
	}
	var again []*item
	retryAfter := answer.retryAfter
	for index, result := range answer.results {
		switch {
		case result.Status >= 200 && result.Status < 300:
			w.settleOne(sent)
		case result.Status == 429:
			again = append(again, items[index])
			if wait := secondsToWait(result.RetryAfter); wait > retryAfter {
				retryAfter = wait
			}
		default:
			w.log.warn("bugstack refused event %s (HTTP %d): %s", items[index].id, result.Status,
				clip(result.Detail, maxDetailLength))
			w.settleOne(rejected)
		}
	}
	if len(again) == 0 {
		return nil
	}
	return w.retryLater(again, retryAfter, "HTTP 429 for some events of a batch")
}

// retryLater counts an attempt for each item, gives up on those out of retries and sets when to try again.
func (w *worker) retryLater(items []*item, retryAfter time.Duration, why string) []*item {
	var again []*item
	attempt := 0
	for _, queued := range items {
		queued.attempts++
		if queued.attempts > w.maxRetries {
			w.settleOne(failed)
			continue
		}
		again = append(again, queued)
		if queued.attempts > attempt {
			attempt = queued.attempts
		}
	}
	delay := retryAfter
	if delay < 0 {
		delay = backoff(attempt - 1)
	}
	// Kept when giving up too: the next events also wait as long as the server asked.
	w.notBefore = time.Now().Add(delay)
	if len(again) < len(items) {
		w.log.warn("bugstack gave up on %d event(s) (%s)", len(items)-len(again), why)
	}
	w.log.debugf("bugstack could not deliver %d event(s) (%s); retrying in %s", len(again), why, delay)
	return again
}

func batchBody(items []*item) []byte {
	size := 1
	for _, queued := range items {
		size += len(queued.body) + 1
	}
	body := make([]byte, 0, size)
	body = append(body, '[')
	for index, queued := range items {
		if index > 0 {
			body = append(body, ',')
		}
		body = append(body, queued.body...)
	}
	return append(body, ']')
}

func (w *worker) settle(items []*item, result outcome) {
	for range items {
		w.settleOne(result)
	}
}

func (w *worker) settleOne(result outcome) {
	switch result {
	case sent:
		w.sent.Add(1)
	case rejected:
		w.rejected.Add(1)
	case failed:
		w.failed.Add(1)
	case discarded:
		w.discarded.Add(1)
	}
	w.settleCount(1)
}

func (w *worker) settleCount(count int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending -= count
	if w.pending == 0 {
		for _, idle := range w.idle {
			close(idle)
		}
		w.idle = nil
	}
}

func (r reply) describe() string {
	if r.status == 0 {
		return r.detail
	}
	return fmt.Sprintf("HTTP %d: %s", r.status, r.detail)
}

// logger writes warnings always and the fate of each event when debugging, to stderr.
type logger struct {
	out   *log.Logger
	debug bool
}

func (l *logger) warn(format string, args ...interface{}) {
	l.out.Printf(format, args...)
}

func (l *logger) debugf(format string, args ...interface{}) {
	if l.debug {
		l.out.Printf(format, args...)
	}
}
