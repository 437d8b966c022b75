package bugstack

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// Middleware reports panics of the handlers it wraps, with the global client (see Client.Middleware).
func Middleware(next http.Handler) http.Handler {
	return middleware(next, CurrentClient)
}

// Middleware recovers a panic of `next`, reports it with the request, and answers 500 unless the
// response had started; a response that had started is aborted (the client sees a cut-off answer, as
// net/http does for a panic). http.ErrAbortHandler is panicked again, unreported: it is how a handler
// asks net/http to abort a response.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return middleware(next, func() *Client { return c })
}

func middleware(next http.Handler, client func() *Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tracked := &responseWriter{ResponseWriter: w}
		defer func() {
			recovered := recover()
			if recovered == nil {
				return
			}
			if recovered == http.ErrAbortHandler {
				panic(recovered)
			}
			client().capturePanic(r, recovered, mechanismHandler, "error")
			if tracked.started {
				panic(http.ErrAbortHandler)
			}
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		}()
		next.ServeHTTP(tracked, r)
	})
}

// responseWriter notes whether the response started. It passes on flushing, hijacking, HTTP/2 push and
// ReadFrom (sendfile), and unwraps for http.ResponseController.
type responseWriter struct {
	http.ResponseWriter
	started bool
}

func (w *responseWriter) WriteHeader(status int) {
	w.started = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(data []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(data)
}

func (w *responseWriter) Flush() {
	if flusher, ok := w.ResponseWriter.(http.Flusher); ok {
		w.started = true
		flusher.Flush()
	}
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hijacker, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	w.started = true
	return hijacker.Hijack()
}

func (w *responseWriter) Push(target string, options *http.PushOptions) error {
	if pusher, ok := w.ResponseWriter.(http.Pusher); ok {
		return pusher.Push(target, options)
	}
	return http.ErrNotSupported
}

func (w *responseWriter) ReadFrom(source io.Reader) (int64, error) {
	w.started = true
	if readerFrom, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return readerFrom.ReadFrom(source)
	}
	return io.Copy(w.ResponseWriter, source)
}

// Unwrap gives http.ResponseController (Go 1.20) the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
