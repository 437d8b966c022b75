package bugstack

import (
	"net/http"
	"os"
	"strings"
	"time"
)

// Options configure the SDK. An empty field is read from the matching BUGSTACK_* environment variable,
// as the JavaScript and Python SDKs read them, and then falls back to its default.
type Options struct {
	// DSN is where to send, from the project's setup page: http(s)://<key>@host[:port][/prefix]/<project id>.
	// Empty: BUGSTACK_DSN. With neither a DSN nor a Key and Endpoint the SDK is off.
	DSN string
	// Key and Endpoint are an alternative to the DSN (BUGSTACK_KEY, BUGSTACK_ENDPOINT).
	Key      string
	Endpoint string
	// Environment defaults to BUGSTACK_ENVIRONMENT, then "production".
	Environment string
	// Release defaults to BUGSTACK_RELEASE, then the VCS revision Go stamped into the binary, if any.
	Release string
	// ServerName defaults to BUGSTACK_SERVER_NAME, then the host name.
	ServerName string
	// BeforeSend may change an event or drop it (return nil). It runs on the SDK's background goroutine,
	// just before redaction and sending; a panic in it drops the event.
	BeforeSend func(event *Event) *Event
	// RedactKeys are filtered as the built-in sensitive keys are, plus BUGSTACK_REDACT_KEYS (comma-separated).
	RedactKeys []string
	// InAppPrefixes are package path prefixes that are the app's own code, besides the main module.
	InAppPrefixes []string
	// RouteOf names the route a request matched ("/users/{id}"), for routers that know it after routing,
	// such as chi: func(r *http.Request) string { return chi.RouteContext(r.Context()).RoutePattern() }.
	RouteOf func(r *http.Request) string
	// QueueSize is how many events may wait to be sent; beyond it new ones are dropped and counted. Default 100.
	QueueSize int
	// Timeout bounds each HTTP request to bugstack. Default 2 s.
	Timeout time.Duration
	// MaxRetries after a 429, a 5xx or a network error. 0 means the default, 3; a negative value, none.
	MaxRetries int
	// SendModules sends the modules the binary was built with (path and version). nil means on.
	SendModules *bool
	// SendRequestHeaders adds the request's path, query string and headers (redacted) to events about it;
	// off by default (also BUGSTACK_SEND_REQUEST_HEADERS=1), when an event names only its method and route.
	SendRequestHeaders bool
	// Debug writes what happens to each event to stderr. Warnings are written whatever it says.
	Debug bool
}

const (
	defaultEnvironment = "production"
	defaultQueueSize   = 100
	defaultTimeout     = 2 * time.Second
	defaultMaxRetries  = 3
)

// settings are Options with the environment and the defaults applied: what a Client runs with.
type settings struct {
	destination   destination
	environment   string
	release       string
	serverName    string
	beforeSend    func(*Event) *Event
	redactKeys    []string
	inAppPrefixes []string
	routeOf       func(*http.Request) string
	queueSize     int
	timeout       time.Duration
	maxRetries    int
	sendModules   bool
	sendHeaders   bool
	debug         bool
}

// errDisabled is returned by resolve when no destination is configured: the SDK stays off, quietly.
var errDisabled = &DSNError{"no DSN: set Options.DSN or BUGSTACK_DSN"}

// resolve merges options with the environment; a malformed destination is a *DSNError.
func resolve(options Options, getenv func(string) string) (settings, error) {
	dest, err := destinationOf(options, getenv)
	if err != nil {
		return settings{}, err
	}
	return settings{
		destination:   dest,
		environment:   firstOf(options.Environment, getenv("BUGSTACK_ENVIRONMENT"), defaultEnvironment),
		release:       firstOf(options.Release, getenv("BUGSTACK_RELEASE"), buildRevision()),
		serverName:    firstOf(options.ServerName, getenv("BUGSTACK_SERVER_NAME"), hostname()),
		beforeSend:    options.BeforeSend,
		redactKeys:    append(append([]string(nil), options.RedactKeys...), splitList(getenv("BUGSTACK_REDACT_KEYS"))...),
		inAppPrefixes: cleanPrefixes(options.InAppPrefixes),
		routeOf:       options.RouteOf,
		queueSize:     orDefault(options.QueueSize, defaultQueueSize),
		timeout:       time.Duration(orDefault(int(options.Timeout), int(defaultTimeout))),
		maxRetries:    retries(options.MaxRetries),
		sendModules:   options.SendModules == nil || *options.SendModules,
		sendHeaders:   options.SendRequestHeaders || isTrue(getenv("BUGSTACK_SEND_REQUEST_HEADERS")),
		debug:         options.Debug,
	}, nil
}

func destinationOf(options Options, getenv func(string) string) (destination, error) {
	if dsn := firstOf(options.DSN, getenv("BUGSTACK_DSN")); dsn != "" {
		return parseDSN(dsn)
	}
	key := firstOf(options.Key, getenv("BUGSTACK_KEY"))
	endpoint := firstOf(options.Endpoint, getenv("BUGSTACK_ENDPOINT"))
	switch {
	case key != "" && endpoint != "":
		return fromEndpoint(endpoint, key)
	case key != "":
		return destination{}, &DSNError{"a key and an endpoint go together: the endpoint (BUGSTACK_ENDPOINT) is missing"}
	case endpoint != "":
		return destination{}, &DSNError{"a key and an endpoint go together: the key (BUGSTACK_KEY) is missing"}
	}
	return destination{}, errDisabled
}

// firstOf is the first value that is not blank, trimmed.
func firstOf(values ...string) string {
	for _, value := range values {
		if trimmed := strings.TrimSpace(value); trimmed != "" {
			return trimmed
		}
	}
	return ""
}

// isTrue reads a flag from the environment as the other SDKs do: 1, true, yes or on.
func isTrue(value string) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func splitList(text string) []string {
	var items []string
	for _, item := range strings.Split(text, ",") {
		if trimmed := strings.TrimSpace(item); trimmed != "" {
			items = append(items, trimmed)
		}
	}
	return items
}

func cleanPrefixes(prefixes []string) []string {
	var cleaned []string
	for _, prefix := range prefixes {
		if trimmed := strings.TrimRight(strings.TrimSpace(prefix), "/"); trimmed != "" {
			cleaned = append(cleaned, trimmed)
		}
	}
	return cleaned
}

func orDefault(value, fallback int) int {
	if value <= 0 {
		return fallback
	}
	return value
}

func retries(value int) int {
	switch {
	case value < 0:
		return 0
	case value == 0:
		return defaultMaxRetries
	}
	return value
}

func hostname() string {
	name, err := os.Hostname()
	if err != nil {
		return ""
	}
	return name
}
