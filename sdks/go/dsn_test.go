package bugstack_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	bugstack "bugstack.dev/sdk/go"
)

func TestInitReturnsAnErrorNamingWhatIsWrongWithTheDSN(t *testing.T) {
	cases := map[string]string{
		"not a url\x7f":                          "the DSN is not a URL",
		"ftp://s3cretkey@bugstack.example/42":    "the DSN must start with http:// or https://",
		"http://bugstack.example/42":             "the DSN has no key",
		"http://s3cretkey@bugstack.example/":     "the DSN has no project id",
		"http://s3cretkey@bugstack.example/ab":   "the DSN has no project id",
		"http://s3cretkey@:8000/42":              "the DSN has no host",
		"http://s3cretkey@bugstack.example:x/42": "the DSN is not a URL",
	}
	for dsn, problem := range cases {
		err := bugstack.Init(bugstack.Options{DSN: dsn})
		var dsnError *bugstack.DSNError
		if !errors.As(err, &dsnError) || !strings.Contains(err.Error(), problem) {
			t.Errorf("Init with %q: %v, want %q", dsn, err, problem)
		} else if strings.Contains(err.Error(), "s3cretkey") {
			t.Errorf("the error repeats the key: %v", err)
		}
		if bugstack.CurrentClient() != nil {
			t.Errorf("Init with %q left the SDK on", dsn)
		}
	}
}

func TestAKeyWithoutAnEndpointIsAnError(t *testing.T) {
	t.Setenv("BUGSTACK_DSN", "")
	t.Setenv("BUGSTACK_KEY", "k")
	err := bugstack.Init(bugstack.Options{})
	if err == nil || !strings.Contains(err.Error(), "the endpoint (BUGSTACK_ENDPOINT) is missing") {
		t.Fatalf("got %v", err)
	}
}

func TestInitReadsTheDSNFromTheEnvironmentAndSendsBelowItsPrefix(t *testing.T) {
	s := newSink(t, nil)
	t.Setenv("BUGSTACK_DSN", s.dsn())
	t.Setenv("BUGSTACK_ENVIRONMENT", "staging")
	if err := bugstack.Init(bugstack.Options{InAppPrefixes: []string{testPackage}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bugstack.Close(0) })

	id := bugstack.CaptureError(errors.New("checkout failed"))

	event := s.nextEvent()
	if event["event_id"] != id || event["environment"] != "staging" {
		t.Fatalf("event %v, id %q", event, id)
	}
	if !bugstack.Flush(5 * time.Second) {
		t.Fatal("flush timed out")
	}
}

func TestAnEndpointAndKeyWithAPrefixSendBelowThePrefix(t *testing.T) {
	s := newSink(t, nil)
	client, err := bugstack.NewClient(bugstack.Options{Endpoint: s.server.URL + "/bugstack/", Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(0)

	client.CaptureError(errors.New("checkout failed"))

	client.Flush(5 * time.Second)
	request := s.next()
	if request.path != "/bugstack"+eventsPath {
		t.Fatalf("sent to %s", request.path)
	}
}
