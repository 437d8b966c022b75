package bugstack

import (
	"context"
	"net/http"
	"reflect"
	"strings"
)

const maxHeaders = 100

type routeKey struct{}

// WithRoute returns `r` carrying the route it matched ("/users/:id"), for adapters of routers that know
// it on their own context (gin's c.FullPath(), echo's c.Path()): events about the request name it.
func WithRoute(r *http.Request, route string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, route))
}

// describeRequest is what an event says about `r`: its method and route, as the other SDKs say by default,
// and with `withHeaders` its URL, query string and headers, all redacted before sending. The body is never
// read: the handler may have consumed it, or be streaming it.
func describeRequest(r *http.Request, routeOf func(*http.Request) string, withHeaders bool) *Request {
	request := &Request{Method: r.Method, Route: routeFor(r, routeOf)}
	if !withHeaders {
		return request
	}
	request.Headers = headersOf(r)
	if r.URL != nil {
		request.URL = schemeOf(r) + "://" + r.Host + r.URL.EscapedPath()
		request.QueryString = r.URL.RawQuery
	}
	return request
}

// routeFor: WithRoute's, else Options.RouteOf's, else the pattern net/http's ServeMux matched (Go 1.22's
// Request.Pattern, read by name so that the SDK builds with older Go).
func routeFor(r *http.Request, routeOf func(*http.Request) string) string {
	if route, ok := r.Context().Value(routeKey{}).(string); ok && route != "" {
		return route
	}
	if routeOf != nil {
		if route := callRouteOf(routeOf, r); route != "" {
			return route
		}
	}
	if pattern := reflect.ValueOf(r).Elem().FieldByName("Pattern"); pattern.IsValid() && pattern.Kind() == reflect.String {
		return pattern.String()
	}
	return ""
}

func callRouteOf(routeOf func(*http.Request) string, r *http.Request) (route string) {
	defer func() {
		if recover() != nil {
			route = ""
		}
	}()
	return routeOf(r)
}

func schemeOf(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func headersOf(r *http.Request) map[string]string {
	headers := make(map[string]string, len(r.Header)+1)
	if r.Host != "" {
		headers["Host"] = r.Host
	}
	for name, values := range r.Header {
		if len(headers) >= maxHeaders {
			break
		}
		headers[name] = strings.Join(values, ", ")
	}
	return headers
}
