package bugstack

import (
	"net/url"
	"strings"
)

// eventsPath is where bugstack's ingest API takes events, below the DSN's prefix.
const eventsPath = "/api/v1/events/"

// DSNError says why a DSN, or an endpoint and key, cannot be used. The message never repeats the DSN:
// it holds the project's key, and the message may reach a log.
type DSNError struct {
	Problem string
}

func (e *DSNError) Error() string {
	return "bugstack: " + e.Problem
}

// destination is where events go: the events URL, the batch URL beside it, and the key to send.
type destination struct {
	eventsURL string
	batchURL  string
	key       string
}

// parseDSN reads `http(s)://<key>@host[:port][/prefix]/<project id>`.
func parseDSN(dsn string) (destination, error) {
	parsed, err := parseBase(dsn, "the DSN")
	if err != nil {
		return destination{}, err
	}
	if parsed.User == nil || parsed.User.Username() == "" {
		return destination{}, &DSNError{"the DSN has no key: expected http(s)://<key>@host/<project id>"}
	}
	path := strings.TrimRight(parsed.Path, "/")
	cut := strings.LastIndexByte(path, '/')
	if !isDigits(path[cut+1:]) {
		return destination{}, &DSNError{"the DSN has no project id: expected http(s)://<key>@host/<project id>"}
	}
	return newDestination(parsed.Scheme, parsed.Host, path[:cut], parsed.User.Username()), nil
}

// fromEndpoint uses a bugstack base URL (`http://bugstack.internal:8000`) and a project key.
func fromEndpoint(endpoint, key string) (destination, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return destination{}, &DSNError{"the project key is empty"}
	}
	parsed, err := parseBase(endpoint, "the endpoint")
	if err != nil {
		return destination{}, err
	}
	return newDestination(parsed.Scheme, parsed.Host, strings.TrimRight(parsed.Path, "/"), key), nil
}

func parseBase(text, name string) (*url.URL, error) {
	parsed, err := url.Parse(strings.TrimSpace(text))
	if err != nil {
		return nil, &DSNError{name + " is not a URL with a host (and a valid port, if any)"}
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return nil, &DSNError{name + " must start with http:// or https://"}
	}
	if parsed.Hostname() == "" {
		return nil, &DSNError{name + " has no host"}
	}
	return parsed, nil
}

func newDestination(scheme, host, prefix, key string) destination {
	events := scheme + "://" + host + prefix + eventsPath
	return destination{eventsURL: events, batchURL: events + "batch/", key: key}
}

func isDigits(text string) bool {
	if text == "" {
		return false
	}
	for _, char := range text {
		if char < '0' || char > '9' {
			return false
		}
	}
	return true
}
