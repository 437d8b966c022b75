package bugstack_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	bugstack "bugstack.dev/sdk/go"
)

// heldSink answers nothing until released: a server that hangs.
func heldSink(t *testing.T) (*sink, func()) {
	release := make(chan struct{})
	var once sync.Once
	s := newSink(t, func(n int, request received) (int, map[string]string, interface{}) {
		<-release
		return acceptAll(n, request)
	})
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before the server closes: it waits for its handlers
	return s, open
}

func TestAFullQueueDropsAndCountsEventsWithoutBlockingTheApp(t *testing.T) {
	s, release := heldSink(t)
	client := newClient(t, s, bugstack.Options{QueueSize: 2, Timeout: 10 * time.Second})

	client.CaptureError(errors.New("first"))
	s.next() // in flight, and held
	started := time.Now()
	for n := 0; n < 50; n++ {
		client.CaptureError(fmt.Errorf("error %d", n))
	}
	elapsed := time.Since(started)

	stats := client.Stats()
	if stats.Dropped != 48 || stats.Queued != 3 {
		t.Fatalf("stats %+v: want two queued behind the one in flight, 48 dropped", stats)
	}
	if elapsed > time.Second {
		t.Fatalf("50 captures took %s while the server hung", elapsed)
	}
	release()
	if !client.Flush(5*time.Second) || client.Stats().Sent != 3 {
		t.Fatalf("after the server answered: %+v", client.Stats())
	}
}

func TestWhileTheServerIsDownCapturesReturnAtOnceAndFlushGivesUpInTime(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	listener.Close() // nothing listens there now
	client, err := bugstack.NewClient(bugstack.Options{DSN: "http://" + testKey + "@" + address + "/42"})
	if err != nil {
		t.Fatal(err)
	}

	started := time.Now()
	client.CaptureError(errors.New("checkout failed"))
	captured := time.Since(started)
	flushed := client.Flush(300 * time.Millisecond)
	waited := time.Since(started)

	if captured > 250*time.Millisecond || flushed || waited > 2*time.Second {
		t.Fatalf("capture took %s, flush said %v after %s", captured, flushed, waited)
	}
	client.Close(0)
	if stats := client.Stats(); stats.Failed != 1 || stats.Queued != 0 {
		t.Fatalf("stats %+v: the event still out when closing is failed", stats)
	}
}

func TestA429IsRetriedNoSoonerThanItsRetryAfter(t *testing.T) {
	s := newSink(t, func(n int, request received) (int, map[string]string, interface{}) {
		if n == 0 {
			return http.StatusTooManyRequests, map[string]string{"Retry-After": "1"}, map[string]string{"detail": "slow down"}
		}
		return acceptAll(n, request)
	})
	client := newClient(t, s, bugstack.Options{})

	client.CaptureError(errors.New("checkout failed"))

	first, second := s.next(), s.next()
	if waited := second.at.Sub(first.at); waited < 950*time.Millisecond {
		t.Fatalf("retried after %s: Retry-After said 1 s", waited)
	}
	if !client.Flush(5*time.Second) || client.Stats().Sent != 1 {
		t.Fatalf("stats %+v", client.Stats())
	}
}

func TestEventsThatQueueWhileARequestIsOutGoTogetherToTheBatchURL(t *testing.T) {
	s, release := heldSink(t)
	client := newClient(t, s, bugstack.Options{Timeout: 10 * time.Second})

	client.CaptureError(errors.New("first"))
	first := s.next()
	for n := 0; n < 5; n++ {
		client.CaptureError(fmt.Errorf("error %d", n))
	}
	release()

	batch := s.next()
	if first.path != eventsPath || batch.path != batchPath || len(batch.events) != 5 {
		t.Fatalf("requests to %s then %s with %d events", first.path, batch.path, len(batch.events))
	}
	for n, event := range batch.events {
		if got := lastValue(event)["value"]; got != fmt.Sprintf("error %d", n) {
			t.Fatalf("event %d of the batch is %v", n, got)
		}
	}
	if !client.Flush(5*time.Second) || client.Stats().Sent != 6 {
		t.Fatalf("stats %+v", client.Stats())
	}
}

func TestABatchsResultsAreReadOneByOne(t *testing.T) {
	s, release := heldSink(t)
	var mu sync.Mutex
	requests := 0
	s.answer = func(n int, request received) (int, map[string]string, interface{}) {
		mu.Lock()
		requests++
		mu.Unlock()
		if request.path != batchPath {
			return acceptAll(n, request)
		}
		return http.StatusOK, map[string]string{"Retry-After": "1"}, map[string]interface{}{"results": []map[string]interface{}{
			{"id": "0123456789abcdef0123456789abcdef", "status": 202},
			{"status": 400, "detail": "exception.values: field required"},
			{"status": 429, "detail": "over the rate limit", "retry_after": 1},
		}}
	}
	client := newClient(t, s, bugstack.Options{Timeout: 10 * time.Second})
	client.CaptureError(errors.New("first"))
	s.next()
	for _, text := range []string{"stored", "invalid", "limited"} {
		client.CaptureError(errors.New(text))
	}
	release()

	s.next() // the batch
	resent := s.next()
	if resent.path != eventsPath || lastValue(resent.events[0])["value"] != "limited" {
		t.Fatalf("resent to %s: %v", resent.path, resent.events)
	}
	client.Flush(5 * time.Second)
	if stats := client.Stats(); stats.Sent != 3 || stats.Rejected != 1 {
		t.Fatalf("stats %+v: want 3 sent (one after its 429), the invalid one rejected", stats)
	}
}

func TestRefusedEventsAreNotRetried(t *testing.T) {
	s := newSink(t, func(int, received) (int, map[string]string, interface{}) {
		return http.StatusBadRequest, nil, map[string]string{"detail": "not the protocol"}
	})
	client := newClient(t, s, bugstack.Options{})

	client.CaptureError(errors.New("checkout failed"))

	if !client.Flush(5*time.Second) || client.Stats().Rejected != 1 || s.count() != 1 {
		t.Fatalf("stats %+v after %d requests", client.Stats(), s.count())
	}
}

func TestAServerWithoutTheBatchEndpointIsSentEventsOneByOne(t *testing.T) {
	s, release := heldSink(t)
	s.answer = func(n int, request received) (int, map[string]string, interface{}) {
		if request.path == batchPath {
			return http.StatusNotFound, nil, map[string]string{"detail": "Not found."}
		}
		return acceptAll(n, request)
	}
	client := newClient(t, s, bugstack.Options{Timeout: 10 * time.Second})
	client.CaptureError(errors.New("first"))
	s.next()
	client.CaptureError(errors.New("second"))
	client.CaptureError(errors.New("third"))
	release()

	if refused := s.next(); refused.path != batchPath {
		t.Fatalf("sent to %s", refused.path)
	}
	for _, want := range []string{"second", "third"} {
		if request := s.next(); request.path != eventsPath || lastValue(request.events[0])["value"] != want {
			t.Fatalf("sent to %s: %v", request.path, request.events)
		}
	}
	if !client.Flush(5*time.Second) || client.Stats().Sent != 3 {
		t.Fatalf("stats %+v", client.Stats())
	}
}
