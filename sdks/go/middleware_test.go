package bugstack_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	bugstack "bugstack.dev/sdk/go"
)

func orderTotal(items []int) int {
	return items[3] // the bug the tests' panicking handler hits
}

func showOrder(w http.ResponseWriter, r *http.Request) {
	total := orderTotal(nil)
	_, _ = io.WriteString(w, string(rune(total)))
}

func serve(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return server
}

func TestAPanickingHandlerAnswers500AndReportsThePanicWithItsFramesAndTheRequestRedacted(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{
		RouteOf:            func(r *http.Request) string { return "/orders/{id}" },
		SendRequestHeaders: true,
	})
	app := serve(t, client.Middleware(http.HandlerFunc(showOrder)))

	request, _ := http.NewRequest(http.MethodGet, app.URL+"/orders/7?token=abc&page=2", nil)
	request.Header.Set("Authorization", "Bearer abcdefgh12345678")
	request.Header.Set("Cookie", "sessionid=s3cr3t")
	request.Header.Set("X-Request-Id", "req-1")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", response.StatusCode)
	}

	event := s.nextEvent()
	if event["platform"] != "go" || event["level"] != "error" {
		t.Errorf("platform %v, level %v", event["platform"], event["level"])
	}
	value := lastValue(event)
	if value["type"] != "runtime.boundsError" || value["value"] != "runtime error: index out of range [3] with length 0" {
		t.Errorf("exception %v: %v", value["type"], value["value"])
	}
	if got := mechanism(value); got["type"] != "http.Handler" || got["handled"] != false {
		t.Errorf("mechanism %v", got)
	}
	top := lastFrame(t, value)
	if top["function"] != "orderTotal" || top["in_app"] != true || top["module"] != testPackage ||
		top["filename"] != "bugstack.dev/sdk/go/middleware_test.go" ||
		!strings.HasSuffix(top["abs_path"].(string), "/middleware_test.go") ||
		strings.TrimSpace(top["context_line"].(string)) != "return items[3] // the bug the tests' panicking handler hits" {
		t.Errorf("the last frame is not the line that panicked: %v", top)
	}
	if got := inAppFunctions(value); strings.Join(got, ",") != "showOrder,orderTotal" {
		t.Errorf("in-app frames %v", got)
	}
	for _, frame := range frames(value) {
		module := frame["module"].(string)
		if (module == "runtime" || module == "net/http" || module == "bugstack.dev/sdk/go") && frame["in_app"] != false {
			t.Errorf("%s's frame marked in-app: %v", module, frame)
		}
		if frame["function"] == "gopanic" {
			t.Errorf("the runtime's panic machinery was not cut: %v", frame)
		}
	}

	got := event["request"].(map[string]interface{})
	headers := got["headers"].(map[string]interface{})
	if got["method"] != "GET" || got["route"] != "/orders/{id}" ||
		got["url"] != app.URL+"/orders/7" || got["query_string"] != "token=%5BFiltered%5D&page=2" {
		t.Errorf("request %v", got)
	}
	if headers["Authorization"] != bugstack.Filtered || headers["Cookie"] != bugstack.Filtered || headers["X-Request-Id"] != "req-1" {
		t.Errorf("headers %v", headers)
	}
}

func TestErrAbortHandlerIsPanickedAgainAndNotReported(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})
	rethrown := make(chan interface{}, 1)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			value := recover()
			rethrown <- value
			panic(value)
		}()
		client.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		})).ServeHTTP(w, r)
	})
	app := serve(t, outer)

	if response, err := http.Get(app.URL); err == nil {
		response.Body.Close()
		t.Fatalf("the response was not aborted: %d", response.StatusCode)
	}
	if value := <-rethrown; value != http.ErrAbortHandler {
		t.Fatalf("net/http got %v, want http.ErrAbortHandler", value)
	}
	client.Flush(time.Second)
	if stats := client.Stats(); stats.Sent+stats.Queued != 0 || s.count() != 0 {
		t.Fatalf("an aborted response was reported: %+v", stats)
	}
}

func TestAPanicAfterTheResponseStartedIsReportedAndTheResponseCutOff(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})
	app := serve(t, client.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("stock ran out")
	})))

	response, err := http.Get(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(response.Body)
	response.Body.Close()
	if response.StatusCode != http.StatusOK || err == nil {
		t.Fatalf("status %d, body error %v: want the started 200, cut off", response.StatusCode, err)
	}
	value := lastValue(s.nextEvent())
	if value["type"] != "string" || value["value"] != "stock ran out" {
		t.Fatalf("exception %v: %v", value["type"], value["value"])
	}
}

func TestAHandlerReportsAnErrorItHandledWithItsRequestAndRoute(t *testing.T) {
	s := newSink(t, nil)
	client := newClient(t, s, bugstack.Options{})
	app := serve(t, client.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := errors.New("payment gateway unavailable")
		client.CaptureRequestError(bugstack.WithRoute(r, "/checkout"), err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
	})))

	response, err := http.Post(app.URL+"/checkout", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d: the handler's answer was changed", response.StatusCode)
	}
	event := s.nextEvent()
	value := lastValue(event)
	request := event["request"].(map[string]interface{})
	if value["type"] != "*errors.errorString" || mechanism(value)["handled"] != true ||
		request["method"] != "POST" || request["route"] != "/checkout" {
		t.Fatalf("event %v, request %v", value, request)
	}
	for _, name := range []string{"url", "query_string", "headers"} {
		if _, sent := request[name]; sent {
			t.Errorf("%s sent without SendRequestHeaders: %v", name, request)
		}
	}
	if got := inAppFunctions(value); len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "TestAHandlerReportsAnErrorItHandled") {
		t.Fatalf("in-app frames %v: want the handler that captured it last", got)
	}
}

func TestTheMiddlewareAnswers500WhileTheSDKIsOff(t *testing.T) {
	t.Setenv("BUGSTACK_DSN", "")
	if err := bugstack.Init(bugstack.Options{}); err != nil {
		t.Fatal(err)
	}
	app := serve(t, bugstack.Middleware(http.HandlerFunc(showOrder)))
	response, err := http.Get(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusInternalServerError || bugstack.CurrentClient() != nil {
		t.Fatalf("status %d", response.StatusCode)
	}
}
