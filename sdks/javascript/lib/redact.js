'use strict';

/**
 * Redaction before anything leaves the process: values under sensitive keys become "[Filtered]", and
 * credential-looking strings are masked wherever they appear (messages and source lines included).
 *
 * The terms and patterns mirror bugstack's server-side redaction (ingest/redact.py) and the Python SDK's
 * (bugstack_sdk/redact.py); the server redacts again on arrival. JavaScript's regular expressions have no
 * possessive quantifiers, so each pattern is written so that no two ways of matching the same text exist:
 * every repeated part is followed by something it cannot contain, and a failed attempt costs time linear
 * in the run of characters it scanned. A string is first checked with one cheap search: most strings in an
 * event (paths, function names, source lines) contain nothing any pattern could match.
 */

const FILTERED = '[Filtered]';

// Substring terms, compared with the lower-cased key with "-" read as "_": "X-Api-Key", "db_password",
// "sessionid", "csrftoken", "Proxy-Authorization" and "Set-Cookie" all match.
const DENYLIST = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'auth',
  'credential',
  'cookie',
  'session',
  'csrf',
  'xsrf',
  'private_key',
  'privatekey',
]);

const SECRET_PATTERNS = [
  // "Authorization: Bearer …" pasted into a message or a header value; the keyword in any case.
  [/\b(bearer|basic|token)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi, `$1 ${FILTERED}`],
  // JSON Web Tokens: three base64url parts, the first starting with '{"' encoded. The first part ends at
  // a "-eyJ" (another token's start: "-eyJ-eyJ…" would otherwise be scanned again from each).
  [/\beyJ(?=[A-Za-z0-9_-]{5})(?:[A-Za-z0-9_]|-(?!eyJ))*\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, FILTERED],
  // GitHub personal, OAuth, app, refresh tokens and fine-grained PATs.
  [/\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, FILTERED],
  [/\bgithub_pat_[A-Za-z0-9_]{30,}\b/g, FILTERED],
  // Anthropic and other "sk-" style API keys.
  [/\bsk-ant-[A-Za-z0-9_-]{20,}/g, FILTERED],
  [/\bsk-[A-Za-z0-9_-]{32,}/g, FILTERED],
  // AWS access key ids, and secret access keys where they are named.
  [/\bA(?:KIA|SIA|ROA|IDA)[0-9A-Z]{16}\b/g, FILTERED],
  [/(aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+]{40}/gi, `$1${FILTERED}`],
  // Stripe secret, restricted and publishable keys, and webhook secrets.
  [/\b[srp]k_(?:live|test)_[A-Za-z0-9]{10,}\b/g, FILTERED],
  [/\bwhsec_[A-Za-z0-9]{20,}\b/g, FILTERED],
  // Slack tokens.
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g, FILTERED],
  // Credentials in URLs: scheme://user:password@host, found from the "://" (any scheme, or none).
  [/(:\/\/[^\s:/@]+:)[^\s@/]+@/g, `$1${FILTERED}@`],
];

// 13 to 19 digits, optionally grouped by single spaces or dashes; each candidate is then checked with Luhn.
const CARD_CANDIDATE = /\b[0-9](?:[ -]?[0-9]){12,18}\b/g;

const MAYBE_SECRET = new RegExp(
  'b(?:earer|asic)|token|eyj|g(?:h[pousr]_|ithub_pat_)|sk-|a(?:kia|sia|roa|ida|ws_)|_(?:live|test)_' +
    '|whsec_|xox|@',
);
const MAYBE_CARD = /[0-9]{4}/;

/** `text` with every credential-looking value and Luhn-valid card number replaced. */
function maskText(text) {
  let masked = text;
  if (MAYBE_SECRET.test(masked.toLowerCase())) {
    for (const [pattern, replacement] of SECRET_PATTERNS) masked = masked.replace(pattern, replacement);
  }
  if (MAYBE_CARD.test(masked)) masked = masked.replace(CARD_CANDIDATE, maskCard);
  return masked;
}

const SEPARATORS = /[ -]/g;
const DIGIT_GROUP = /[0-9]+/g;
// Groups of digits a candidate may have taken beside a card, at either end ("4111 1111 1111 1111 2 items"):
// (leading, trailing) groups to leave out, the fewest first; a bounded number of tries, whatever the text.
const MAX_STRAY_GROUPS = 2;
const STRAY_GROUPS = strayGroupsToTry(MAX_STRAY_GROUPS);
// A card is written in at most five groups (4-4-4-4, 4-6-5, 4-4-4-4-3): a candidate of more groups than that
// and the strays is not looked into, which also keeps runs of spaced single digits cheap.
const MAX_GROUPS_LOOKED_INTO = 5 + 2 * MAX_STRAY_GROUPS;

/** Every (lead, trail) up to `most` each but (0, 0): the fewest first, among as many the fewer leading first. */
function strayGroupsToTry(most) {
  const counts = [...Array(most + 1).keys()];
  const pairs = counts.flatMap((lead) => counts.map((trail) => [lead, trail]));
  return Object.freeze(
    pairs.sort(([leadA, trailA], [leadB, trailB]) => leadA + trailA - (leadB + trailB)).slice(1),
  );
}

/** The candidate masked if it is a card, or holds one among up to two stray groups at either end. */
function maskCard(candidate) {
  const digits = candidate.replace(SEPARATORS, '');
  if (luhnValid(digits)) return FILTERED;
  if (candidate.length - digits.length >= MAX_GROUPS_LOOKED_INTO) return candidate;
  const groups = Array.from(candidate.matchAll(DIGIT_GROUP), (group) => [
    group.index,
    group.index + group[0].length,
  ]);
  for (const [lead, trail] of STRAY_GROUPS) {
    if (lead + trail >= groups.length) continue;
    const start = groups[lead][0];
    const end = groups[groups.length - 1 - trail][1];
    const cardDigits = candidate.slice(start, end).replace(SEPARATORS, '');
    if (cardDigits.length >= 13 && cardDigits.length <= 19 && luhnValid(cardDigits)) {
      return candidate.slice(0, start) + FILTERED + candidate.slice(end);
    }
  }
  return candidate;
}

function luhnValid(digits) {
  let sum = 0;
  for (let index = digits.length - 1, doubled = false; index >= 0; index -= 1, doubled = !doubled) {
    const digit = digits.charCodeAt(index) - 48;
    sum += doubled ? ((digit * 2) % 10) + Math.floor(digit / 5) : digit;
  }
  return sum % 10 === 0;
}

function normaliseKey(key) {
  return key.trim().toLowerCase().replaceAll('-', '_');
}

/** The built-in terms plus the app's own, normalised the way keys are compared. */
function denylist(extraKeys = []) {
  return Object.freeze([...DENYLIST, ...extraKeys.filter((key) => key.trim()).map(normaliseKey)]);
}

function isSensitiveKey(key, terms = DENYLIST) {
  const normalised = normaliseKey(key);
  return terms.some((term) => normalised.includes(term));
}

/** A query string with the values of sensitive parameters filtered; other pairs keep their encoding. */
function filterQuery(query, terms = DENYLIST) {
  const pairs = query.split('&').map((pair) => {
    const equals = pair.indexOf('=');
    if (equals < 0 || !isSensitiveKey(decodeQueryPart(pair.slice(0, equals)), terms)) return pair;
    return `${pair.slice(0, equals)}=${encodeURIComponent(FILTERED)}`;
  });
  return maskText(pairs.join('&'));
}

/** A URL with sensitive query parameters filtered and credentials masked. */
function filterUrl(url, terms = DENYLIST) {
  const question = url.indexOf('?');
  if (question < 0) return maskText(url);
  const hash = url.indexOf('#', question);
  const end = hash < 0 ? url.length : hash;
  return (
    maskText(url.slice(0, question + 1)) +
    filterQuery(url.slice(question + 1, end), terms) +
    maskText(url.slice(end))
  );
}

function decodeQueryPart(part) {
  try {
    return decodeURIComponent(part.replaceAll('+', ' '));
  } catch {
    return part;
  }
}

/** Return a redacted copy of an event; the caller's structure is left alone. */
class Redactor {
  static MAX_DEPTH = 32; // deeper (or cyclic) data is cut, not followed

  constructor(extraKeys = []) {
    this.terms = denylist(extraKeys);
    this.verdicts = new Map(); // events repeat the same few dozen keys
  }

  redact(value, depth = 0) {
    if (typeof value === 'string') return maskText(value);
    if (typeof value === 'bigint') return String(value);
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    if (value === null || typeof value !== 'object') return value;
    if (depth > Redactor.MAX_DEPTH) return FILTERED;
    if (Array.isArray(value)) return value.map((item) => this.redact(item, depth + 1) ?? null);
    if (typeof value.toJSON === 'function') return this.redact(safeToJSON(value), depth + 1);
    const copy = {};
    for (const key of Object.keys(value)) {
      const field = this.field(key, value[key], depth);
      if (field !== undefined) copy[key] = field;
    }
    return copy;
  }

  field(key, value, depth) {
    if (value !== null && value !== undefined && this.isSensitive(key)) return FILTERED;
    // Query strings and URLs carry key/value pairs inside one string.
    if (typeof value === 'string' && key === 'query_string') return filterQuery(value, this.terms);
    if (typeof value === 'string' && key === 'url') return filterUrl(value, this.terms);
    return this.redact(value, depth + 1);
  }

  isSensitive(key) {
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = isSensitiveKey(key, this.terms);
      if (this.verdicts.size < 4096) this.verdicts.set(key, verdict);
    }
    return verdict;
  }
}

function safeToJSON(value) {
  try {
    return value.toJSON();
  } catch {
    return FILTERED;
  }
}

module.exports = {
  DENYLIST,
  FILTERED,
  Redactor,
  denylist,
  filterQuery,
  filterUrl,
  isSensitiveKey,
  luhnValid,
  maskText,
};
