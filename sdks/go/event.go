package bugstack

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"runtime"
	"time"
)

// Event is one report in bugstack's native protocol v1 (DESIGN.md, "Event schema"). BeforeSend sees and
// may change it; everything in it is redacted after BeforeSend and before it leaves the process.
type Event struct {
	EventID     string                            `json:"event_id"`
	Timestamp   string                            `json:"timestamp"`
	Platform    string                            `json:"platform"`
	Level       string                            `json:"level"`
	Message     string                            `json:"message,omitempty"`
	Environment string                            `json:"environment,omitempty"`
	Release     string                            `json:"release,omitempty"`
	ServerName  string                            `json:"server_name,omitempty"`
	Exception   ExceptionList                     `json:"exception"`
	Request     *Request                          `json:"request,omitempty"`
	Contexts    map[string]map[string]interface{} `json:"contexts,omitempty"`
	SDK         SDKInfo                           `json:"sdk"`
	Modules     map[string]string                 `json:"modules,omitempty"`
	Tags        map[string]string                 `json:"tags,omitempty"`
	Fingerprint []string                          `json:"fingerprint,omitempty"`
}

// ExceptionList holds the exception values, oldest cause first and the error that was captured last.
type ExceptionList struct {
	Values []Exception `json:"values"`
}

// Exception is one error of a chain.
type Exception struct {
	Type       string      `json:"type"`
	Value      string      `json:"value"`
	Module     string      `json:"module,omitempty"`
	Mechanism  *Mechanism  `json:"mechanism,omitempty"`
	Stacktrace *Stacktrace `json:"stacktrace,omitempty"`

	stack capturedStack // program counters, turned into frames in the background
}

// Mechanism says how an error was caught (Type "http.Handler", "recover", "generic"), or for an earlier
// value of a chain how it relates to the next one (Type "chained", Source "Unwrap" or "Unwrap()[1]").
type Mechanism struct {
	Type    string `json:"type"`
	Handled *bool  `json:"handled,omitempty"`
	Source  string `json:"source,omitempty"`
}

// Stacktrace holds frames oldest first: the last one is where the error was raised.
type Stacktrace struct {
	Frames []Frame `json:"frames"`
}

// Frame is one call of a stack.
type Frame struct {
	Filename    string   `json:"filename"`
	AbsPath     string   `json:"abs_path,omitempty"`
	Module      string   `json:"module,omitempty"`
	Function    string   `json:"function"`
	Lineno      int      `json:"lineno,omitempty"`
	InApp       bool     `json:"in_app"`
	ContextLine string   `json:"context_line,omitempty"`
	PreContext  []string `json:"pre_context,omitempty"`
	PostContext []string `json:"post_context,omitempty"`
}

// Request describes the HTTP request an error happened in. Its body is never read.
type Request struct {
	Method      string            `json:"method,omitempty"`
	URL         string            `json:"url,omitempty"`
	Route       string            `json:"route,omitempty"`
	QueryString string            `json:"query_string,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// SDKInfo names the SDK that sent an event.
type SDKInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

const (
	// Version is this SDK's version, sent with every event.
	Version = "0.1.0"
	sdkName = "bugstack.go"

	maxMessageLength = 8192
	maxChain         = 10 // what the server keeps: the last ten, nearest the handler
	maxVisited       = 50 // errors looked at while walking Unwrap chains and multi-errors
	maxJoined        = 10 // errors followed from one multi-error
	messageType      = "Message"
)

// How an error reached the SDK, as mechanism types.
const (
	mechanismGeneric = "generic"
	mechanismHandler = "http.Handler"
	mechanismRecover = "recover"
	mechanismChained = "chained"
)

// exceptionValues are the values of `err`'s chain, causes first and `err` last. Errors that wrap one
// error (Unwrap() error, as %w makes) and multi-errors (Unwrap() []error, as errors.Join makes) are
// followed; the SDK's own stack-carrying wrappers are not values of their own but lend their stack to
// the error they wrap. `site` is the stack of the capture (or panic), given to the last value when it
// carries none of its own.
func exceptionValues(err error, site capturedStack, mechanism string, handled bool) []Exception {
	walk := chainWalk{}
	walk.visit(err, "")
	values := walk.values
	if len(values) > maxChain {
		values = values[len(values)-maxChain:]
	}
	last := &values[len(values)-1]
	last.Mechanism = &Mechanism{Type: mechanism, Handled: &handled}
	if len(last.stack.pcs) == 0 {
		last.stack = site
	}
	return values
}

type chainWalk struct {
	values  []Exception
	visited int
}

func (w *chainWalk) visit(err error, source string) {
	if w.visited >= maxVisited {
		return
	}
	w.visited++
	var own capturedStack
	err, own = unwrapStack(err)
	if cause := unwrapOne(err); cause != nil {
		w.visit(cause, "Unwrap")
	}
	for index, inner := range unwrapMany(err) {
		w.visit(inner, fmt.Sprintf("Unwrap()[%d]", index))
	}
	value := Exception{Type: typeName(err), Value: errorMessage(err), Module: packageOf(err), stack: own}
	if source != "" {
		value.Mechanism = &Mechanism{Type: mechanismChained, Source: source}
	}
	w.values = append(w.values, value)
}

// unwrapStack looks through the SDK's stack-carrying wrappers to the error they wrap, keeping the stack
// recorded nearest the error; an error with a StackTrace method lends its own.
func unwrapStack(err error) (error, capturedStack) {
	var own capturedStack
	for {
		wrapper, ok := err.(*stackError)
		if !ok {
			break
		}
		own, err = wrapper.stack, wrapper.err
	}
	if len(own.pcs) == 0 {
		own = capturedStack{pcs: stackTraceOf(err)}
	}
	return err, own
}

// unwrapOne is the error `err` wraps, or nil; an Unwrap that panics wraps nothing.
func unwrapOne(err error) (cause error) {
	wrapper, ok := err.(interface{ Unwrap() error })
	if !ok {
		return nil
	}
	defer func() {
		if recover() != nil {
			cause = nil
		}
	}()
	return wrapper.Unwrap()
}

// unwrapMany are the errors a multi-error joins (at most maxJoined), detected by interface so that
// errors.Join's errors (Go 1.20) are read while the SDK builds with Go 1.19.
func unwrapMany(err error) (errs []error) {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	defer func() {
		if recover() != nil {
			errs = nil
		}
	}()
	for _, inner := range joined.Unwrap() {
		if inner != nil && len(errs) < maxJoined {
			errs = append(errs, inner)
		}
	}
	return errs
}

// stackTraceOf reads the program counters of an error with a `StackTrace()` method returning a slice
// of program counters, as github.com/pkg/errors' errors have (its Frame is a uintptr); found by
// reflection so that no such package is a dependency.
func stackTraceOf(err error) (pcs []uintptr) {
	method := reflect.ValueOf(err).MethodByName("StackTrace")
	if !method.IsValid() || method.Type().NumIn() != 0 || method.Type().NumOut() != 1 {
		return nil
	}
	out := method.Type().Out(0)
	if out.Kind() != reflect.Slice || out.Elem().Kind() != reflect.Uintptr {
		return nil
	}
	defer func() {
		if recover() != nil {
			pcs = nil
		}
	}()
	trace := method.Call(nil)[0]
	for index := 0; index < trace.Len() && index < maxCallers; index++ {
		pcs = append(pcs, uintptr(trace.Index(index).Uint()))
	}
	return pcs
}

// panicValues are the values for a recovered panic: an error's chain, or for any other value (a string,
// a number, a struct) one value whose type is the value's Go type and whose value is its %v, as
// Sentry's Go SDK reports them.
func panicValues(recovered interface{}, site capturedStack, mechanism string) []Exception {
	if err, ok := recovered.(error); ok {
		return exceptionValues(err, site, mechanism, false)
	}
	handled := false
	return []Exception{{
		Type:      reflect.TypeOf(recovered).String(),
		Value:     clip(fmt.Sprintf("%v", recovered), maxMessageLength),
		Mechanism: &Mechanism{Type: mechanism, Handled: &handled},
		stack:     site,
	}}
}

// typeName is the error's Go type ("*errors.errorString", "*main.OrderError"), as Sentry's Go SDK names it.
func typeName(err error) string {
	return reflect.TypeOf(err).String()
}

// packageOf is the import path of the package that declares the error's type.
func packageOf(err error) string {
	kind := reflect.TypeOf(err)
	for kind.Kind() == reflect.Ptr {
		kind = kind.Elem()
	}
	return kind.PkgPath()
}

// errorMessage is err.Error(); a method that panics (a nil pointer receiver) does not fail the report.
func errorMessage(err error) (message string) {
	defer func() {
		if failure := recover(); failure != nil {
			message = fmt.Sprintf("<Error() panicked: %v>", failure)
		}
	}()
	return clip(err.Error(), maxMessageLength)
}

func clip(text string, limit int) string {
	if len(text) <= limit {
		return text
	}
	cut := limit
	for cut > 0 && !isRuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

func isRuneStart(b byte) bool {
	return b&0xC0 != 0x80
}

// newEvent is the envelope around `values`: everything cheap to know on the caller's goroutine.
func (s *settings) newEvent(level string, values []Exception, request *Request) *Event {
	event := &Event{
		EventID:     newEventID(),
		Timestamp:   time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		Platform:    "go",
		Level:       level,
		Environment: s.environment,
		Release:     s.release,
		ServerName:  s.serverName,
		Exception:   ExceptionList{Values: values},
		Request:     request,
		Contexts: map[string]map[string]interface{}{
			"runtime": {"name": "go", "version": runtime.Version()},
			"os":      {"name": runtime.GOOS, "arch": runtime.GOARCH},
		},
		SDK: SDKInfo{Name: sdkName, Version: Version},
	}
	if request != nil {
		event.Contexts["framework"] = map[string]interface{}{"name": "net/http", "version": runtime.Version()}
	}
	return event
}

// newEventID is 32 hexadecimal characters from crypto/rand; all zeros should it ever fail.
func newEventID() string {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:])
}
