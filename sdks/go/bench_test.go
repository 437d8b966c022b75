package bugstack_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	bugstack "bugstack.dev/sdk/go"
)

// The SDK's cost on the request path, in-process (bench/sdk_overhead_go.py runs these):
//
//   - BenchmarkRequest: a request that fails nothing, bare and through the middleware (budget < 1 µs added);
//   - BenchmarkError: a failing request answered 500, bare (the handler answers it), with a panic the
//     middleware reports and answers, and with CaptureRequestError (budget < 200 µs added).
//
// Events go to a local server that accepts them all, from the SDK's background goroutine; the queue holds
// every event of a run, so each error pays for building and queueing its event, never for the network.

func products(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"id":1,"name":"Moka pot"}`))
}

var errOutOfStock = errors.New("out of stock")

func failedOrder(w http.ResponseWriter, r *http.Request) {
	http.Error(w, errOutOfStock.Error(), http.StatusInternalServerError)
}

func panickingOrder(w http.ResponseWriter, r *http.Request) {
	panic(errOutOfStock)
}

func BenchmarkRequest(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveRepeatedly(b, http.HandlerFunc(products)) })
	b.Run("sdk", func(b *testing.B) {
		serveRepeatedly(b, benchClient(b).Middleware(http.HandlerFunc(products)))
	})
}

func BenchmarkError(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveRepeatedly(b, http.HandlerFunc(failedOrder)) })
	b.Run("panic", func(b *testing.B) {
		serveRepeatedly(b, benchClient(b).Middleware(http.HandlerFunc(panickingOrder)))
	})
	b.Run("capture", func(b *testing.B) {
		client := benchClient(b)
		serveRepeatedly(b, client.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			client.CaptureRequestError(r, errOutOfStock)
			failedOrder(w, r)
		})))
	})
}

// benchClient sends to a local server that accepts every event, with room for all of the run's.
func benchClient(b *testing.B) *bugstack.Client {
	b.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	client, err := bugstack.NewClient(bugstack.Options{
		DSN:       "http://benchkey@" + server.Listener.Addr().String() + "/1",
		QueueSize: b.N + 1,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		client.Close(0)
		server.Close()
	})
	return client
}

func serveRepeatedly(b *testing.B, handler http.Handler) {
	request := httptest.NewRequest(http.MethodGet, "/orders/7?page=2", nil)
	request.Header.Set("Accept", "application/json")
	request.Header.Set("User-Agent", "bench")
	writer := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		handler.ServeHTTP(writer, request)
	}
}

// discardWriter is the cheapest http.ResponseWriter: the figures are the handler's and the SDK's.
type discardWriter struct {
	header http.Header
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) Write(data []byte) (int, error) { return len(data), nil }

func (w *discardWriter) WriteHeader(int) {}
