package bugstack

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// serverTables is testdata/redact_tables.json, written by testdata/redact_fixture.py from the server's
// ingest/redact.py.
type serverTables struct {
	Filtered       string      `json:"FILTERED"`
	Denylist       []string    `json:"DENYLIST"`
	SecretPatterns [][2]string `json:"SECRET_PATTERNS"`
	CardCandidate  string      `json:"CARD_CANDIDATE"`
	MaskText       [][2]string `json:"mask_text"`
}

func readServerTables(t *testing.T) serverTables {
	t.Helper()
	content, err := os.ReadFile("testdata/redact_tables.json")
	if err != nil {
		t.Fatal(err)
	}
	var tables serverTables
	if err := json.Unmarshal(content, &tables); err != nil {
		t.Fatal(err)
	}
	return tables
}

func TestTheRedactionTablesAreTheServers(t *testing.T) {
	tables := readServerTables(t)
	if tables.Filtered != Filtered || !reflect.DeepEqual(tables.Denylist, denylist) || tables.CardCandidate != cardCandidateServer {
		t.Fatalf("FILTERED, DENYLIST or CARD_CANDIDATE differ from the server's: %+v", tables)
	}
	if len(tables.SecretPatterns) != len(secretPatterns) {
		t.Fatalf("the server has %d secret patterns, the SDK %d", len(tables.SecretPatterns), len(secretPatterns))
	}
	for index, server := range tables.SecretPatterns {
		ours := secretPatterns[index]
		replacement := strings.ReplaceAll(server[1], `\1`, "${1}")
		if ours.server != server[0] || ours.replacement != replacement {
			t.Errorf("pattern %d is the server's %q → %q; the SDK ports %q → %q",
				index, server[0], server[1], ours.server, ours.replacement)
		}
	}
}

func TestMaskingMatchesTheServersOnItsSamples(t *testing.T) {
	for _, sample := range readServerTables(t).MaskText {
		if got := maskText(sample[0]); got != sample[1] {
			t.Errorf("maskText(%q) = %q; the server says %q", sample[0], got, sample[1])
		}
	}
}

func TestValuesUnderSensitiveKeysAreFilteredAtAnyDepth(t *testing.T) {
	data := map[string]interface{}{
		"headers": map[string]interface{}{"X-Api-Key": "k", "Set-Cookie": "a=b", "Accept": "text/html"},
		"data": map[string]interface{}{
			"user":  map[string]interface{}{"name": "ada", "db_password": "x", "SSN": "123"},
			"items": []interface{}{map[string]interface{}{"private_key": "p"}},
		},
		"empty_token": nil,
	}
	got := newRedactor([]string{"ssn"}).redact(data, 0)
	want := map[string]interface{}{
		"headers": map[string]interface{}{"X-Api-Key": Filtered, "Set-Cookie": Filtered, "Accept": "text/html"},
		"data": map[string]interface{}{
			"user":  map[string]interface{}{"name": "ada", "db_password": Filtered, "SSN": Filtered},
			"items": []interface{}{map[string]interface{}{"private_key": Filtered}},
		},
		"empty_token": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestQueryStringsAndURLsKeepTheirOtherParametersAsEncoded(t *testing.T) {
	r := newRedactor(nil)
	if got := r.filterQuery("token=abc&lang=en%20GB&page=2"); got != "token=%5BFiltered%5D&lang=en%20GB&page=2" {
		t.Errorf("query: %s", got)
	}
	if got := r.filterURL("https://u:pw@shop.example/cart?session=s1&item=3#top"); got != "https://u:[Filtered]@shop.example/cart?session=%5BFiltered%5D&item=3#top" {
		t.Errorf("url: %s", got)
	}
}

func TestModulesAreMaskedButNotFilteredByName(t *testing.T) {
	event := &Event{Modules: map[string]string{"golang.org/x/oauth2": "v0.10.0"}, Exception: ExceptionList{Values: []Exception{{Type: "t"}}}}
	body, err := encodeEvent(event, newRedactor(nil), maxEventBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"modules":{"golang.org/x/oauth2":"v0.10.0"}`) {
		t.Fatalf("encoded %s", body)
	}
}

func TestAnOversizedEventLosesSourceLinesBeforeFrames(t *testing.T) {
	long := strings.Repeat("x", 100)
	var frames []Frame
	for n := 0; n < 30; n++ {
		frames = append(frames, Frame{Function: "f", InApp: n%2 == 0, ContextLine: long,
			PreContext: []string{long, long, long, long, long}, PostContext: []string{long, long, long, long, long}})
	}
	var values []Exception
	for n := 0; n < 2; n++ {
		values = append(values, Exception{Type: "t", Stacktrace: &Stacktrace{Frames: frames}})
	}
	const limit = 16 << 10 // about 70 KiB with the lines around each frame, far less without
	body, err := encodeEvent(&Event{Exception: ExceptionList{Values: values}}, newRedactor(nil), limit)
	if err != nil || len(body) > limit {
		t.Fatalf("%d bytes, %v", len(body), err)
	}
	if !strings.Contains(string(body), `"context_line"`) || strings.Contains(string(body), `"pre_context"`) {
		t.Fatal("want context lines kept and the lines around them dropped")
	}
}

func TestRetryAfterIsReadAsSecondsOrADateAndCapped(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := map[string]time.Duration{
		"2":                             2 * time.Second,
		"0.5":                           500 * time.Millisecond,
		"86400":                         maxRetryAfter,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second,
		"":                              -1,
		"soon":                          -1,
	}
	for value, want := range cases {
		if got := parseRetryAfter(value, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", value, got, want)
		}
	}
}
