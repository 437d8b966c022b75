package bugstack_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	bugstack "bugstack.dev/sdk/go"
)

const (
	testKey     = "testkey"
	testPackage = "bugstack.dev/sdk/go_test"
	eventsPath  = "/api/v1/events/"
	batchPath   = "/api/v1/events/batch/"
)

// received is one request the sink took: where it went, when, and the events it carried.
type received struct {
	path   string
	at     time.Time
	events []map[string]interface{}
}

// answer is how the sink replies to its nth request (from 0), given what that request carried.
type answer func(n int, request received) (status int, headers map[string]string, body interface{})

// sink is a bugstack ingest endpoint as the protocol describes it, for the SDK to send to. It checks what
// every request must have (gzip, Content-Length, the key) and answers 202, or a batch's 200 with one
// result per event, unless told otherwise.
type sink struct {
	t        testing.TB
	server   *httptest.Server
	answer   answer
	mu       sync.Mutex
	requests []received
	arrived  chan received
}

func newSink(t testing.TB, reply answer) *sink {
	t.Helper()
	s := &sink{t: t, answer: reply, arrived: make(chan received, 1000)}
	s.server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.server.Close)
	return s
}

func (s *sink) dsn() string {
	return "http://" + testKey + "@" + strings.TrimPrefix(s.server.URL, "http://") + "/42"
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	request, problem := s.read(r)
	if problem != "" {
		s.t.Errorf("the sink got a malformed request: %s", problem)
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, request)
	s.mu.Unlock()
	s.arrived <- request
	status, headers, body := acceptAll(n, request)
	if s.answer != nil {
		status, headers, body = s.answer(n, request)
	}
	for name, value := range headers {
		w.Header().Set(name, value)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *sink) read(r *http.Request) (received, string) {
	switch {
	case r.Method != http.MethodPost:
		return received{}, "method " + r.Method
	case r.Header.Get("Authorization") != "Bearer "+testKey:
		return received{}, "no key"
	case r.ContentLength <= 0:
		return received{}, "no Content-Length"
	case r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Type") != "application/json":
		return received{}, "not gzipped JSON"
	}
	reader, err := gzip.NewReader(r.Body)
	if err != nil {
		return received{}, err.Error()
	}
	body, err := io.ReadAll(reader)
	if err != nil {
		return received{}, err.Error()
	}
	request := received{path: r.URL.Path, at: time.Now()}
	if r.URL.Path == batchPath {
		err = json.Unmarshal(body, &request.events)
	} else {
		var event map[string]interface{}
		err = json.Unmarshal(body, &event)
		request.events = []map[string]interface{}{event}
	}
	if err != nil {
		return received{}, err.Error()
	}
	return request, ""
}

// acceptAll answers as bugstack does when it stores every event.
func acceptAll(_ int, request received) (int, map[string]string, interface{}) {
	if request.path != batchPath {
		return http.StatusAccepted, nil, map[string]string{"id": "0123456789abcdef0123456789abcdef"}
	}
	results := make([]map[string]interface{}, len(request.events))
	for index := range results {
		results[index] = map[string]interface{}{"id": "0123456789abcdef0123456789abcdef", "status": 202}
	}
	return http.StatusOK, nil, map[string]interface{}{"results": results}
}

// next waits for the sink's next request.
func (s *sink) next() received {
	s.t.Helper()
	select {
	case request := <-s.arrived:
		return request
	case <-time.After(10 * time.Second):
		s.t.Fatal("nothing reached the sink within 10 s")
		return received{}
	}
}

// nextEvent waits for the next request and returns its one event.
func (s *sink) nextEvent() map[string]interface{} {
	s.t.Helper()
	request := s.next()
	if len(request.events) != 1 {
		s.t.Fatalf("expected one event, got %d", len(request.events))
	}
	return request.events[0]
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// newClient is a client sending to the sink, whose test functions are the app's own code.
func newClient(t *testing.T, s *sink, options bugstack.Options) *bugstack.Client {
	t.Helper()
	options.DSN = s.dsn()
	options.InAppPrefixes = append(options.InAppPrefixes, testPackage)
	client, err := bugstack.NewClient(options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(0) })
	return client
}

// Accessors for decoded events.

func values(event map[string]interface{}) []map[string]interface{} {
	list := event["exception"].(map[string]interface{})["values"].([]interface{})
	found := make([]map[string]interface{}, len(list))
	for index, value := range list {
		found[index] = value.(map[string]interface{})
	}
	return found
}

func lastValue(event map[string]interface{}) map[string]interface{} {
	all := values(event)
	return all[len(all)-1]
}

func frames(value map[string]interface{}) []map[string]interface{} {
	stacktrace, ok := value["stacktrace"].(map[string]interface{})
	if !ok {
		return nil
	}
	list := stacktrace["frames"].([]interface{})
	found := make([]map[string]interface{}, len(list))
	for index, frame := range list {
		found[index] = frame.(map[string]interface{})
	}
	return found
}

// inAppFunctions are the functions of the frames marked in-app, oldest first.
func inAppFunctions(value map[string]interface{}) []string {
	var names []string
	for _, frame := range frames(value) {
		if frame["in_app"] == true {
			names = append(names, frame["function"].(string))
		}
	}
	return names
}

func lastFrame(t *testing.T, value map[string]interface{}) map[string]interface{} {
	t.Helper()
	all := frames(value)
	if len(all) == 0 {
		t.Fatalf("no frames in %v", value)
	}
	return all[len(all)-1]
}

func mechanism(value map[string]interface{}) map[string]interface{} {
	found, _ := value["mechanism"].(map[string]interface{})
	return found
}
