package bugstack

import (
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// current is the client Init configured; nil while the SDK is off.
var current atomic.Pointer[Client]

// Init configures the SDK from `options` and the BUGSTACK_* environment variables and starts sending.
// Without a DSN (nor a key and endpoint) the SDK stays off and Init returns nil; a malformed one is a
// *DSNError naming the problem, and the SDK stays off. Calling Init again replaces the client; the
// previous one is closed in the background, after up to two seconds to send what it holds.
func Init(options Options) error {
	resolved, err := resolve(options, os.Getenv)
	var client *Client
	if err == nil {
		client = newClient(resolved)
	} else if err != errDisabled {
		return err
	}
	if previous := current.Swap(client); previous != nil {
		go previous.Close(defaultTimeout)
	}
	return nil
}

// CurrentClient is the client Init configured, nil when the SDK is off.
func CurrentClient() *Client {
	return current.Load()
}

// CaptureError reports `err` (see Client.CaptureError) and returns its event id, or "".
func CaptureError(err error) string {
	return CurrentClient().CaptureError(err)
}

// CaptureRequestError reports an error a handler handled, with the request it was serving.
func CaptureRequestError(r *http.Request, err error) string {
	return CurrentClient().CaptureRequestError(r, err)
}

// CaptureMessage reports `message` with the stack of the code that calls it.
func CaptureMessage(message string) string {
	return CurrentClient().CaptureMessage(message)
}

// CapturePanic reports a value recover() returned (see Client.CapturePanic).
func CapturePanic(r *http.Request, recovered interface{}) string {
	return CurrentClient().CapturePanic(r, recovered)
}

// Recover, deferred at the top of a goroutine (defer bugstack.Recover()), reports a panic and stops it:
// the goroutine ends and the program carries on, where the panic would have crashed it. It does not
// panic again. It must be the deferred function itself, as recover() only works there.
func Recover() {
	if recovered := recover(); recovered != nil {
		CurrentClient().capturePanic(nil, recovered, mechanismRecover, "fatal")
	}
}

// Flush waits until the events captured so far were sent or given up on (true), or `timeout` passed.
func Flush(timeout time.Duration) bool {
	return CurrentClient().Flush(timeout)
}

// Close flushes within `timeout`, then stops the SDK: later captures are dropped.
func Close(timeout time.Duration) bool {
	return current.Swap(nil).Close(timeout)
}
