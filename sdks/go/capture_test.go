package bugstack_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	bugstack "bugstack.dev/sdk/go"
)

var errRefused = errors.New("connection refused")

func loadOrder(id int) error {
	return fmt.Errorf("loading order %d: %w", id, errRefused)
}

func checkout() error {
	return bugstack.Errorf("checkout: %w", loadOrder(7)) // where the reported stack must end
}

func TestAWrappedChainIsSentOldestCauseFirstWithTheStackOfWhereItWasMade(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})

	client.CaptureError(checkout())

	chain := values(s.nextEvent())
	var got []string
	for _, value := range chain {
		got = append(got, fmt.Sprintf("%v: %v (%v)", value["type"], value["value"], mechanism(value)["source"]))
	}
	want := []string{
		"*errors.errorString: connection refused (Unwrap)",
		"*fmt.wrapError: loading order 7: connection refused (Unwrap)",
		"*fmt.wrapError: checkout: loading order 7: connection refused (<nil>)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("chain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	top := lastFrame(t, chain[2])
	if top["function"] != "checkout" || !strings.Contains(top["context_line"].(string), "where the reported stack must end") {
		t.Fatalf("the stack does not end where the error was made: %v", top)
	}
}

// joined is a multi-error as errors.Join (Go 1.20) makes one, built by hand so the test runs on Go 1.19.
type joined []error

func (j joined) Error() string {
	var texts []string
	for _, err := range j {
		texts = append(texts, err.Error())
	}
	return strings.Join(texts, "\n")
}

func (j joined) Unwrap() []error { return j }

func TestAMultiErrorSendsEachJoinedErrorBeforeIt(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})

	client.CaptureError(fmt.Errorf("saving cart: %w", joined{errRefused, errors.New("disk full")}))

	chain := values(s.nextEvent())
	var got []string
	for _, value := range chain {
		got = append(got, fmt.Sprintf("%v %q %v", value["type"], value["value"], mechanism(value)["source"]))
	}
	want := []string{
		`*errors.errorString "connection refused" Unwrap()[0]`,
		`*errors.errorString "disk full" Unwrap()[1]`,
		`bugstack_test.joined "connection refused\ndisk full" Unwrap`,
		`*fmt.wrapError "saving cart: connection refused\ndisk full" <nil>`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("chain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := inAppFunctions(chain[3]); len(got) != 1 || got[0] != "TestAMultiErrorSendsEachJoinedErrorBeforeIt" {
		t.Fatalf("the captured error's in-app frames %v: want the capture site", got)
	}
}

type orderState struct {
	ID     int
	Status string
}

func settle(state orderState) {
	panic(state)
}

func TestRecoverReportsAGoroutinesPanicWithItsStackAndStopsIt(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})
	done := make(chan struct{})

	go func() {
		defer close(done)
		defer client.Recover()
		settle(orderState{ID: 7, Status: "paid twice"})
	}()
	<-done // the program is still running: the panic stopped at Recover

	event := s.nextEvent()
	value := lastValue(event)
	if event["level"] != "fatal" || value["type"] != "bugstack_test.orderState" || value["value"] != "{7 paid twice}" {
		t.Fatalf("level %v, exception %v: %v", event["level"], value["type"], value["value"])
	}
	if got := mechanism(value); got["type"] != "recover" || got["handled"] != false {
		t.Fatalf("mechanism %v", got)
	}
	got := inAppFunctions(value)
	if len(got) != 2 || !strings.HasPrefix(got[0], "TestRecoverReportsAGoroutinesPanic") || got[1] != "settle" {
		t.Fatalf("in-app frames %v: want the goroutine's function, then settle", got)
	}
}

func TestPanicValuesThatAreNotErrorsAreNamedByTheirGoType(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})
	for _, panicked := range []interface{}{"out of stock", 42} {
		func() {
			defer client.Recover()
			panic(panicked)
		}()
		value := lastValue(s.nextEvent())
		if value["type"] != fmt.Sprintf("%T", panicked) || value["value"] != fmt.Sprint(panicked) {
			t.Errorf("panic(%#v) reported as %v: %v", panicked, value["type"], value["value"])
		}
	}
}

func TestAMessageIsSentWithTheStackOfItsCaller(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})

	client.CaptureMessage("retrying payment 7")

	event := s.nextEvent()
	value := lastValue(event)
	if event["message"] != "retrying payment 7" || event["level"] != "info" || value["type"] != "Message" {
		t.Fatalf("event %v", event)
	}
	if top := lastFrame(t, value); top["function"] != "TestAMessageIsSentWithTheStackOfItsCaller" {
		t.Fatalf("last frame %v", top)
	}
}

// tracedError carries its stack as github.com/pkg/errors' errors do: StackTrace() returns program counters.
type tracedError struct {
	pcs []frame
}

type frame uintptr

func (e *tracedError) Error() string { return "traced" }

func (e *tracedError) StackTrace() []frame { return e.pcs }

func newTracedError() error {
	pcs := make([]uintptr, 32)
	count := runtime.Callers(1, pcs)
	err := &tracedError{}
	for _, pc := range pcs[:count] {
		err.pcs = append(err.pcs, frame(pc))
	}
	return err
}

func TestAnErrorWithItsOwnStackTraceIsSentWithIt(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})

	client.CaptureError(newTracedError())

	if top := lastFrame(t, lastValue(s.nextEvent())); top["function"] != "newTracedError" {
		t.Fatalf("last frame %v: want where the error recorded its stack", top)
	}
}

func TestBeforeSendAndRedactKeysShapeWhatIsSent(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{
		RedactKeys: []string{"Order-Ref"},
		BeforeSend: func(event *bugstack.Event) *bugstack.Event {
			if strings.Contains(event.Exception.Values[0].Value, "ignored") {
				return nil
			}
			event.Tags = map[string]string{"order_ref": "A-1", "shop": "moka", "note": "card 4111 1111 1111 1111"}
			return event
		},
	})

	client.CaptureError(errors.New("ignored"))
	client.CaptureError(errors.New("kept"))

	tags := s.nextEvent()["tags"].(map[string]interface{})
	if tags["order_ref"] != bugstack.Filtered || tags["shop"] != "moka" || tags["note"] != "card [Filtered]" {
		t.Fatalf("tags %v", tags)
	}
	client.Flush(5 * time.Second)
	if stats := client.Stats(); stats.Discarded != 1 || stats.Sent != 1 {
		t.Fatalf("stats %+v", stats)
	}
}

func TestEventsCarryTheRuntimeTheSDKAndTheOptions(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{Environment: "staging", Release: "abc123"})

	client.CaptureError(errRefused)

	event := s.nextEvent()
	runtimeContext := event["contexts"].(map[string]interface{})["runtime"].(map[string]interface{})
	sdk := event["sdk"].(map[string]interface{})
	if runtimeContext["name"] != "go" || runtimeContext["version"] != runtime.Version() ||
		sdk["name"] != "bugstack.go" || event["environment"] != "staging" || event["release"] != "abc123" ||
		len(event["event_id"].(string)) != 32 {
		t.Fatalf("event %v", event)
	}
}
