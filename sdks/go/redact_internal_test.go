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
	StrayGroups    [][2]int    `json:"_STRAY_GROUPS"`
	MaxGroups      int         `json:"_MAX_GROUPS_LOOKED_INTO"`
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
	if !reflect.DeepEqual(tables.StrayGroups, strayGroupPairs()) || tables.MaxGroups != maxGroupsLookedInto {
		t.Fatalf("the server leaves out stray groups %v of at most %d; the SDK %v of at most %d",
			tables.StrayGroups, tables.MaxGroups, strayGroupPairs(), maxGroupsLookedInto)
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

func strayGroupPairs() [][2]int {
	pairs := make([][2]int, len(strayGroups))
	for index, stray := range strayGroups {
		pairs[index] = [2]int{stray.lead, stray.trail}
	}
	return pairs
}

func TestACardNumberBesideAnotherNumberIsStillMasked(t *testing.T) {
	cases := map[string]string{
		// The digit run takes the neighbouring number in; the card is found within it.
		"card 4111 1111 1111 1111 2 items": "card " + Filtered + " 2 items",
		"order 7 4111-1111-1111-1111 5":    "order 7 " + Filtered + " 5",
		"2 5555 5555 5555 4444":            "2 " + Filtered,
		// Both "6 4111 1111 1111" and "4111 1111 1111 108" pass Luhn: a trailing stray is left out first.
		"6 4111 1111 1111 108": Filtered + " 108",
		// Too many groups to be a card and its strays; and one group holds no other number to leave out.
		"1 2 3 4 5 6 7 8 9 0 1 2 3 4 5": "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5",
		"id 12345678901234567 ok":       "id 12345678901234567 ok",
	}
	for text, want := range cases {
		if got := maskText(text); got != want {
			t.Errorf("maskText(%q) = %q, want %q", text, got, want)
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
