package bugstack

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Redaction before anything leaves the process: values under sensitive keys become "[Filtered]", and
// credential-looking strings are masked wherever they appear (messages and source lines included).
//
// The terms and patterns are bugstack's server-side ones (ingest/redact.py), as the JavaScript and Python
// SDKs port them; the server redacts again on arrival. Go's regexp package (RE2) has no look-arounds or
// possessive quantifiers, and needs none: it matches in time linear in the text whatever the pattern.
// Each server pattern is kept beside its RE2 form, and a test compares both with a fixture generated from
// the server's module, so a change there fails here until ported. The RE2 forms match what the server's
// match, with two differences, both masking more: "\b" and "\s" are ASCII (a secret right after a
// non-ASCII letter is masked), and a JSON Web Token's first part may contain "-eyJ".

// Filtered replaces every redacted value.
const Filtered = "[Filtered]"

// denylist holds substring terms, compared with the lower-cased key with "-" read as "_": "X-Api-Key",
// "db_password", "sessionid", "csrftoken", "Proxy-Authorization" and "Set-Cookie" all match.
var denylist = []string{
	"password",
	"passwd",
	"secret",
	"token",
	"api_key",
	"apikey",
	"auth",
	"credential",
	"cookie",
	"session",
	"csrf",
	"xsrf",
	"private_key",
	"privatekey",
}

// secretPattern is one of the server's SECRET_PATTERNS: the server's text, and its RE2 form with the
// replacement in Go's syntax.
type secretPattern struct {
	server      string
	pattern     *regexp.Regexp
	replacement string
}

var secretPatterns = []secretPattern{
	// "Authorization: Bearer …" pasted into a message or a header value; the keyword in any case.
	{
		`([BbTt](?<!\w.)(?i:(?<=b)(?:earer|asic)|(?<=t)oken))\s++[A-Za-z0-9\-._~+/]{8,}=*`,
		regexp.MustCompile(`\b((?i:bearer|basic|token))\s+[A-Za-z0-9\-._~+/]{8,}=*`),
		"${1} " + Filtered,
	},
	// JSON Web Tokens: three base64url parts, the first starting with '{"' encoded.
	{
		`eyJ(?<=\beyJ)(?=[A-Za-z0-9_-]{5})[A-Za-z0-9_]*+(?:-(?!eyJ)[A-Za-z0-9_]*+)*+` +
			`\.[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*`,
		regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`),
		Filtered,
	},
	// GitHub personal, OAuth, app, refresh tokens and fine-grained PATs.
	{
		`gh[pousr]_(?<=\bgh[pousr]_)[A-Za-z0-9]{30,}+\b`,
		regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{30,}\b`),
		Filtered,
	},
	{
		`github_pat_(?<=\bgithub_pat_)[A-Za-z0-9_]{30,}+\b`,
		regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{30,}\b`),
		Filtered,
	},
	// Anthropic and other "sk-" style API keys.
	{
		`sk-ant-(?<=\bsk-ant-)[A-Za-z0-9_-]{20,}`,
		regexp.MustCompile(`\bsk-ant-[A-Za-z0-9_-]{20,}`),
		Filtered,
	},
	{
		`sk-(?<=\bsk-)[A-Za-z0-9_-]{32,}`,
		regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{32,}`),
		Filtered,
	},
	// AWS access key ids, and secret access keys where they are named.
	{
		`A(?:KIA|SIA|ROA|IDA)(?<=\bA[A-Z]{3})[0-9A-Z]{16}\b`,
		regexp.MustCompile(`\bA(?:KIA|SIA|ROA|IDA)[0-9A-Z]{16}\b`),
		Filtered,
	},
	{
		`([Aa](?i:ws_secret_access_key)\s*+[=:]\s*+)[A-Za-z0-9/+]{40}`,
		regexp.MustCompile(`([Aa](?i:ws_secret_access_key)\s*[=:]\s*)[A-Za-z0-9/+]{40}`),
		"${1}" + Filtered,
	},
	// Stripe secret, restricted and publishable keys, and webhook secrets.
	{
		`[srp]k_(?:live|test)_(?<=\b[srp]k_(?:live|test)_)[A-Za-z0-9]{10,}+\b`,
		regexp.MustCompile(`\b[srp]k_(?:live|test)_[A-Za-z0-9]{10,}\b`),
		Filtered,
	},
	{
		`whsec_(?<=\bwhsec_)[A-Za-z0-9]{20,}+\b`,
		regexp.MustCompile(`\bwhsec_[A-Za-z0-9]{20,}\b`),
		Filtered,
	},
	// Slack tokens.
	{
		`xox[abprs]-(?<=\bxox[abprs]-)[A-Za-z0-9-]{10,}\b`,
		regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}\b`),
		Filtered,
	},
	// Credentials in URLs: scheme://user:password@host, found from the "://" (any scheme, or none).
	{
		`(://[^\s:/@]++:)[^\s@/]++@`,
		regexp.MustCompile(`(://[^\s:/@]+:)[^\s@/]+@`),
		"${1}" + Filtered + "@",
	},
}

// cardCandidate is the server's CARD_CANDIDATE: 13 to 19 digits, optionally grouped by single spaces or
// dashes; each candidate is then checked with Luhn.
const cardCandidateServer = `[0-9](?<=\b[0-9])(?:[ -]?[0-9]){12,18}\b`

var cardCandidate = regexp.MustCompile(`\b[0-9](?:[ -]?[0-9]){12,18}\b`)

// Cheap pre-checks: most strings in an event (paths, function names, source lines) hold none of these.
var (
	maybeSecret = regexp.MustCompile(`b(?:earer|asic)|token|eyj|g(?:h[pousr]_|ithub_pat_)|sk-|a(?:kia|sia|roa|ida|ws_)|_(?:live|test)_|whsec_|xox|@`)
	maybeCard   = regexp.MustCompile(`[0-9]{4}`)
)

// maskText is `text` with every credential-looking value and Luhn-valid card number replaced.
func maskText(text string) string {
	if maybeSecret.MatchString(strings.ToLower(text)) {
		for _, secret := range secretPatterns {
			text = secret.pattern.ReplaceAllString(text, secret.replacement)
		}
	}
	if maybeCard.MatchString(text) {
		text = cardCandidate.ReplaceAllStringFunc(text, maskCard)
	}
	return text
}

var (
	cardSeparators = strings.NewReplacer(" ", "", "-", "")
	digitGroup     = regexp.MustCompile(`[0-9]+`)
)

// A candidate may have taken in groups of digits beside a card, at either end ("4111 1111 1111 1111 2
// items"): up to maxStrayGroups at each end are left out in turn. A card is written in at most five groups
// (4-4-4-4, 4-6-5, 4-4-4-4-3), so a candidate of more groups than that and the strays is not looked into,
// which also keeps runs of spaced single digits cheap.
const (
	maxStrayGroups      = 2
	maxGroupsLookedInto = 5 + 2*maxStrayGroups
)

// strayGroups is the server's _STRAY_GROUPS: the (leading, trailing) groups to leave out, the fewest first.
var strayGroups = strayGroupsFewestFirst()

type strayGroup struct{ lead, trail int }

// strayGroupsFewestFirst lists the ways to leave groups out in the server's order (its stable sort by the
// number left out): by that number, then by leading groups, so a trailing stray is tried before a leading one.
func strayGroupsFewestFirst() []strayGroup {
	var tries []strayGroup
	for total := 1; total <= 2*maxStrayGroups; total++ {
		for lead := 0; lead <= maxStrayGroups; lead++ {
			if trail := total - lead; trail >= 0 && trail <= maxStrayGroups {
				tries = append(tries, strayGroup{lead, trail})
			}
		}
	}
	return tries
}

// maskCard is the candidate filtered if it is a card number, or with the first card found among its groups
// of digits filtered and the stray groups around it kept; a bounded number of tries, whatever the text.
func maskCard(candidate string) string {
	if luhnValid(cardSeparators.Replace(candidate)) {
		return Filtered
	}
	if strings.Count(candidate, " ")+strings.Count(candidate, "-") >= maxGroupsLookedInto {
		return candidate
	}
	groups := digitGroup.FindAllStringIndex(candidate, -1)
	for _, stray := range strayGroups {
		if stray.lead+stray.trail >= len(groups) {
			continue
		}
		start, end := groups[stray.lead][0], groups[len(groups)-1-stray.trail][1]
		if digits := cardSeparators.Replace(candidate[start:end]); isCardLength(digits) && luhnValid(digits) {
			return candidate[:start] + Filtered + candidate[end:]
		}
	}
	return candidate
}

func isCardLength(digits string) bool {
	return len(digits) >= 13 && len(digits) <= 19
}

func luhnValid(digits string) bool {
	sum := 0
	doubled := false
	for index := len(digits) - 1; index >= 0; index-- {
		digit := int(digits[index] - '0')
		if doubled {
			digit *= 2
			if digit > 9 {
				digit -= 9
			}
		}
		sum += digit
		doubled = !doubled
	}
	return sum%10 == 0
}

func normaliseKey(key string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(key)), "-", "_")
}

// redactor returns redacted copies of decoded JSON, with the built-in terms and the app's own.
type redactor struct {
	terms    []string
	mu       sync.Mutex
	verdicts map[string]bool // events repeat the same few dozen keys
}

const (
	maxRedactDepth = 32   // deeper data is cut, not followed
	maxVerdicts    = 4096 // keys remembered; they come from the app's data, so the memory is bounded
)

func newRedactor(extraKeys []string) *redactor {
	terms := append([]string(nil), denylist...)
	for _, key := range extraKeys {
		if normalised := normaliseKey(key); normalised != "" {
			terms = append(terms, normalised)
		}
	}
	return &redactor{terms: terms, verdicts: make(map[string]bool)}
}

func (r *redactor) isSensitive(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	verdict, known := r.verdicts[key]
	if !known {
		normalised := normaliseKey(key)
		for _, term := range r.terms {
			if strings.Contains(normalised, term) {
				verdict = true
				break
			}
		}
		if len(r.verdicts) >= maxVerdicts {
			r.verdicts = make(map[string]bool)
		}
		r.verdicts[key] = verdict
	}
	return verdict
}

// redact is a redacted copy of `value`, as encoding/json decodes into interface{}.
func (r *redactor) redact(value interface{}, depth int) interface{} {
	switch typed := value.(type) {
	case string:
		return maskText(typed)
	case map[string]interface{}:
		if depth > maxRedactDepth {
			return Filtered
		}
		copied := make(map[string]interface{}, len(typed))
		for key, item := range typed {
			copied[key] = r.field(key, item, depth)
		}
		return copied
	case []interface{}:
		if depth > maxRedactDepth {
			return Filtered
		}
		copied := make([]interface{}, len(typed))
		for index, item := range typed {
			copied[index] = r.redact(item, depth+1)
		}
		return copied
	}
	return value
}

func (r *redactor) field(key string, value interface{}, depth int) interface{} {
	if value != nil && r.isSensitive(key) {
		return Filtered
	}
	// Query strings and URLs carry key/value pairs inside one string.
	if text, ok := value.(string); ok && key == "query_string" {
		return r.filterQuery(text)
	}
	if text, ok := value.(string); ok && key == "url" {
		return r.filterURL(text)
	}
	return r.redact(value, depth+1)
}

// filterQuery filters the values of sensitive parameters; other pairs keep their encoding.
func (r *redactor) filterQuery(query string) string {
	pairs := strings.Split(query, "&")
	for index, pair := range pairs {
		equals := strings.IndexByte(pair, '=')
		if equals >= 0 && r.isSensitive(decodeQueryPart(pair[:equals])) {
			pairs[index] = pair[:equals] + "=" + url.QueryEscape(Filtered)
		}
	}
	return maskText(strings.Join(pairs, "&"))
}

// filterURL filters sensitive query parameters and masks credentials.
func (r *redactor) filterURL(text string) string {
	question := strings.IndexByte(text, '?')
	if question < 0 {
		return maskText(text)
	}
	end := len(text)
	if hash := strings.IndexByte(text[question:], '#'); hash >= 0 {
		end = question + hash
	}
	return maskText(text[:question+1]) + r.filterQuery(text[question+1:end]) + maskText(text[end:])
}

func decodeQueryPart(part string) string {
	decoded, err := url.QueryUnescape(part)
	if err != nil {
		return part
	}
	return decoded
}
