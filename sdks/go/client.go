package bugstack

import (
	"log"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Client captures errors, panics and messages and sends them to one bugstack project. Its methods never
// panic into the app and never wait for the network; a nil *Client (the SDK off) does nothing.
type Client struct {
	settings settings
	log      *logger
	rules    *frameRules
	redactor *redactor
	sources  *sourceCache // the background goroutine's alone
	worker   *worker
	closed   atomic.Bool
}

// NewClient starts a client and its background goroutine. A missing or malformed DSN is a *DSNError.
func NewClient(options Options) (*Client, error) {
	resolved, err := resolve(options, os.Getenv)
	if err != nil {
		return nil, err
	}
	return newClient(resolved), nil
}

func newClient(resolved settings) *Client {
	client := &Client{
		settings: resolved,
		log:      &logger{out: log.New(os.Stderr, "", log.LstdFlags), debug: resolved.debug},
		rules:    newFrameRules(resolved.inAppPrefixes),
		redactor: newRedactor(resolved.redactKeys),
		sources:  newSourceCache(),
	}
	client.worker = newWorker(resolved.queueSize, resolved.destination,
		newTransport(resolved.destination.key, resolved.timeout), resolved.maxRetries, client.log, client.prepare)
	return client
}

// CaptureError reports `err` with the stack of the code that calls it (or the error's own, when it
// carries one) and returns the event's id; "" when nothing will be sent (nil error, SDK off or closed,
// queue full).
func (c *Client) CaptureError(err error) (id string) {
	if err == nil || !c.admits() {
		return ""
	}
	defer c.survive("an error")
	return c.enqueue("error", exceptionValues(err, callers(false), mechanismGeneric, true), nil)
}

// CaptureRequestError reports an error a handler handled, with the request it was serving.
func (c *Client) CaptureRequestError(r *http.Request, err error) (id string) {
	if err == nil || !c.admits() {
		return ""
	}
	defer c.survive("an error")
	return c.enqueue("error", exceptionValues(err, callers(false), mechanismGeneric, true), c.describe(r))
}

// CaptureMessage reports `message` (level "info") with the stack of the code that calls it, as one
// exception value of type "Message", the way bugstack reads a Sentry SDK's message.
func (c *Client) CaptureMessage(message string) (id string) {
	if !c.admits() {
		return ""
	}
	defer c.survive("a message")
	text := clip(message, maxMessageLength)
	values := []Exception{{Type: messageType, Value: text, stack: callers(false)}}
	event := c.settings.newEvent("info", values, nil)
	event.Message = text
	return c.submit(event)
}

// CapturePanic reports a value recover() returned, for framework adapters; call it in the deferred
// function that recovered, so that the stack is still the panicking goroutine's. `r` may be nil.
func (c *Client) CapturePanic(r *http.Request, recovered interface{}) string {
	if r == nil {
		return c.capturePanic(nil, recovered, mechanismRecover, "fatal")
	}
	return c.capturePanic(r, recovered, mechanismHandler, "error")
}

// Recover, deferred at the top of a goroutine, reports a panic and stops it: the goroutine ends and
// the program carries on, where the panic would have crashed it. It must be the deferred function
// itself (defer client.Recover()), as recover() only works there.
func (c *Client) Recover() {
	if recovered := recover(); recovered != nil {
		c.capturePanic(nil, recovered, mechanismRecover, "fatal")
	}
}

func (c *Client) capturePanic(r *http.Request, recovered interface{}, mechanism, level string) (id string) {
	if recovered == nil || !c.admits() {
		return ""
	}
	defer c.survive("a panic")
	return c.enqueue(level, panicValues(recovered, callers(true), mechanism), c.describe(r))
}

// Flush waits until the events captured so far were sent or given up on (true), or `timeout` passed
// (false). Events keep being sent after a false.
func (c *Client) Flush(timeout time.Duration) bool {
	if c == nil {
		return true
	}
	return c.worker.flush(timeout)
}

// Close flushes within `timeout`, then stops sending: a retry or a request still out ends at once, and
// later captures are dropped. It says whether everything was sent.
func (c *Client) Close(timeout time.Duration) bool {
	if c == nil {
		return true
	}
	flushed := c.worker.flush(timeout)
	if !c.closed.Swap(true) {
		c.worker.stop()
	}
	return flushed
}

// Stats count what happened to the events captured so far.
func (c *Client) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return c.worker.stats()
}

// admits: on, open, and with room in the queue (else the event is counted as dropped, unbuilt: an
// error storm should not also pay for events that cannot be sent).
func (c *Client) admits() bool {
	if c == nil || c.closed.Load() {
		return false
	}
	if !c.worker.hasRoom() {
		c.worker.drop()
		return false
	}
	return true
}

func (c *Client) enqueue(level string, values []Exception, request *Request) string {
	return c.submit(c.settings.newEvent(level, values, request))
}

func (c *Client) submit(event *Event) string {
	if !c.worker.submit(event) {
		return ""
	}
	c.log.debugf("bugstack event %s: queued", event.EventID)
	return event.EventID
}

// survive keeps a failure while capturing from becoming the app's: reporting must never be an error.
func (c *Client) survive(what string) {
	if failure := recover(); failure != nil {
		c.log.warn("bugstack could not capture %s: %v", what, failure)
	}
}

func (c *Client) describe(r *http.Request) *Request {
	if r == nil {
		return nil
	}
	return describeRequest(r, c.settings.routeOf, c.settings.sendHeaders)
}

// prepare runs on the background goroutine: frames, source lines, modules, BeforeSend, then redaction
// and encoding.
func (c *Client) prepare(event *Event) ([]byte, outcome) {
	for index := range event.Exception.Values {
		value := &event.Exception.Values[index]
		if frames := value.stack.frames(c.rules); len(frames) > 0 {
			c.sources.addContext(frames)
			value.Stacktrace = &Stacktrace{Frames: frames}
		}
	}
	if c.settings.sendModules {
		event.Modules = installedModules()
	}
	final := c.runBeforeSend(event)
	if final == nil {
		c.log.debugf("bugstack event %s: dropped by BeforeSend", event.EventID)
		return nil, discarded
	}
	body, err := encodeEvent(final, c.redactor, maxEventBytes)
	if err != nil {
		c.log.warn("bugstack could not encode event %s; it was dropped: %v", event.EventID, err)
		return nil, failed
	}
	return body, sent
}

// runBeforeSend drops the event when the hook panics: the hook is often where an app scrubs data of its
// own, and sending what it failed on could leak it.
func (c *Client) runBeforeSend(event *Event) (final *Event) {
	if c.settings.beforeSend == nil {
		return event
	}
	defer func() {
		if failure := recover(); failure != nil {
			c.log.warn("bugstack's BeforeSend panicked; the event was dropped: %v", failure)
			final = nil
		}
	}()
	return c.settings.beforeSend(event)
}

// installedModules is a copy of the build's modules, which BeforeSend may change.
func installedModules() map[string]string {
	modules := readBuild().modules
	copied := make(map[string]string, len(modules))
	for path, version := range modules {
		copied[path] = version
	}
	return copied
}
