'use strict';

/** Turning an error into a native protocol v1 event (DESIGN.md, "Event schema"). */

const crypto = require('node:crypto');
const os = require('node:os');

const { framesFromStack } = require('./stacktrace');
const { SDK_NAME, VERSION } = require('./version');

const MAX_CHAIN = 10; // what the server keeps: the last ten, nearest the handler
const MAX_VISITED = 50; // errors looked at while walking causes and AggregateError's errors
const MAX_AGGREGATED = 10;
const MAX_MESSAGE_LENGTH = 8192;
const MESSAGE_TYPE = 'Message'; // as the server names a Sentry message-only event's exception
const LEVELS = new Set(['fatal', 'error', 'warning', 'info', 'debug']);

/**
 * The event for `error`, built on the caller's turn of the event loop: everything here is cheap. Source
 * lines and the client fingerprint are added in the background (`Client.deliver`).
 */
function buildEvent(
  error,
  options,
  { mechanism = 'generic', level = 'error', request = null, framework = null, tags = {}, contexts = {} } = {},
) {
  const values = exceptionValues(error, options.projectRoot, options.inAppInclude);
  values[values.length - 1].mechanism = { type: mechanism, handled: mechanism === 'generic' };
  return envelope(values, options, { level, request, framework, tags, contexts });
}

/**
 * The event for a message: no error was raised, so it is said the way bugstack's server says a Sentry
 * message-only event (ingest/sentry.py, `native_event`): one exception value of type "Message" whose value
 * is the message, with `stack` (the caller's, from `Error.captureStackTrace`) as its frames. The protocol
 * requires an exception, and this keeps grouping and the issue page the same whichever SDK sent it.
 */
function buildMessageEvent(message, stack, options, { level, request = null, framework = null } = {}) {
  const text = safeString(message).slice(0, MAX_MESSAGE_LENGTH);
  const value = {
    type: MESSAGE_TYPE,
    value: text,
    stacktrace: { frames: framesFromStack(stack, null, options.projectRoot, options.inAppInclude) },
  };
  const event = envelope([value], options, { level: messageLevel(level), request, framework });
  event.message = text;
  return event;
}

/** One of the protocol's levels; anything else is "info", the level of a message nobody graded. */
function messageLevel(level) {
  return typeof level === 'string' && LEVELS.has(level) ? level : 'info';
}

/** The fields every event carries around its exception values. */
function envelope(values, options, { level, request = null, framework = null, tags = {}, contexts = {} }) {
  const event = {
    event_id: crypto.randomUUID().replaceAll('-', ''),
    timestamp: Date.now() / 1000,
    platform: 'node',
    level,
    environment: options.environment,
    server_name: options.serverName,
    exception: { values },
    contexts: { ...runtimeContexts(framework), ...contexts },
    sdk: { name: SDK_NAME, version: VERSION },
    tags: { ...tags },
  };
  if (options.release) event.release = options.release;
  if (request !== null) {
    event.request = request.payload;
    if (request.statusCode) event.contexts.response = { status_code: request.statusCode };
  }
  return event;
}

/**
 * One value per error, causes first and `error` last, as the protocol orders them. `cause` chains and
 * AggregateError's `errors` are followed; each value but the last says how it relates to the error after
 * it (`mechanism.source`: "cause" or "errors[2]").
 */
function exceptionValues(error, projectRoot, inAppInclude = []) {
  const values = [];
  const seen = new Set();
  const visit = (current, source) => {
    if (seen.size >= MAX_VISITED || (isObject(current) && seen.has(current))) return;
    seen.add(isObject(current) ? current : Symbol('primitive'));
    const cause = read(current, 'cause');
    if (cause !== undefined && cause !== null) visit(cause, 'cause');
    const errors = isAggregate(current) ? read(current, 'errors') : undefined;
    if (Array.isArray(errors)) {
      errors.slice(0, MAX_AGGREGATED).forEach((inner, index) => visit(inner, `errors[${index}]`));
    }
    const payload = exceptionPayload(current, projectRoot, inAppInclude);
    if (source !== null) payload.mechanism = { type: 'chained', source };
    values.push(payload);
  };
  visit(error, null);
  return values.slice(-MAX_CHAIN);
}

function exceptionPayload(error, projectRoot, inAppInclude) {
  if (!isErrorLike(error)) return nonErrorPayload(error);
  const message = safeString(read(error, 'message'));
  const name = safeString(read(error, 'name')) || 'Error';
  const header = message ? `${name}: ${message}` : name;
  return {
    type: errorType(error, name),
    value: message.slice(0, MAX_MESSAGE_LENGTH),
    stacktrace: { frames: framesFromStack(read(error, 'stack'), header, projectRoot, inAppInclude) },
  };
}

/** `name` unless it is the generic "Error" a subclass inherits: then the class's own name. */
function errorType(error, name) {
  if (name !== 'Error') return name;
  const constructor = read(error, 'constructor');
  return typeof constructor === 'function' && constructor.name ? constructor.name : name;
}

/** `throw "text"`, `reject({code: 1})`: no stack to read, the value said as Sentry's SDKs say it. */
function nonErrorPayload(value) {
  const said = isObject(value)
    ? `Non-Error exception captured with keys: ${safeKeys(value).slice(0, 20).join(', ')}`
    : safeString(value);
  return { type: 'Error', value: said.slice(0, MAX_MESSAGE_LENGTH), stacktrace: { frames: [] } };
}

/** Errors from another realm (vm, workers) fail `instanceof Error` but look the same. */
function isErrorLike(value) {
  try {
    return (
      value instanceof Error || (isObject(value) && typeof value.stack === 'string' && 'message' in value)
    );
  } catch {
    return false; // a proxy whose traps throw
  }
}

function isAggregate(value) {
  try {
    return value instanceof AggregateError;
  } catch {
    return false;
  }
}

function isObject(value) {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** A property, or undefined when reading it throws (a getter, a revoked proxy): a report must not fail. */
function read(object, name) {
  try {
    return object[name];
  } catch {
    return undefined;
  }
}

function safeString(value) {
  try {
    return value === undefined || value === null ? '' : String(value);
  } catch {
    return '<unprintable value>';
  }
}

function safeKeys(value) {
  try {
    return Object.keys(value);
  } catch {
    return [];
  }
}

const STATIC_CONTEXTS = Object.freeze({
  runtime: { name: 'node', version: process.versions.node },
  os: { name: os.type(), version: os.release() },
});

function runtimeContexts(framework) {
  const contexts = {};
  for (const [name, values] of Object.entries(STATIC_CONTEXTS)) contexts[name] = { ...values };
  if (framework) contexts.framework = { ...framework };
  return contexts;
}

/** The same ingredients as the server's grouping: types and in-app frames, never line numbers. */
function clientFingerprint(values) {
  const digest = crypto.createHash('sha256');
  for (const value of values) {
    digest.update(value.type);
    const frames = value.stacktrace.frames;
    const chosen = frames.some((frame) => frame.in_app) ? frames.filter((frame) => frame.in_app) : frames;
    for (const frame of chosen) {
      const line = collapseWhitespace(frame.context_line || '');
      digest.update(`\0${frame.filename}\0${frame.function}\0${line}`);
    }
    if (frames.length === 0) digest.update(value.value);
  }
  return digest.digest('hex');
}

function collapseWhitespace(text) {
  return text.split(/\s+/).filter(Boolean).join(' ');
}

// Under the server's default 1 MiB limit: an event it would refuse with 413 is shrunk before sending.
const MAX_EVENT_BYTES = 900 * 1024;
const INNER_FRAMES_KEPT = 20;

/** JSON for the wire; an oversized event loses library source, then all source, then outer frames. */
function encodeEvent(event, limit = MAX_EVENT_BYTES) {
  let body = Buffer.from(JSON.stringify(event));
  for (const shrink of [dropLibraryContext, dropAllContext, keepInnerFrames]) {
    if (body.length <= limit) break;
    shrink(event);
    body = Buffer.from(JSON.stringify(event));
  }
  return body;
}

function allFrames(event) {
  return (event.exception?.values || []).flatMap((value) => value.stacktrace?.frames || []);
}

function dropContext(frame) {
  delete frame.pre_context;
  delete frame.post_context;
}

function dropLibraryContext(event) {
  for (const frame of allFrames(event)) if (!frame.in_app) dropContext(frame);
}

function dropAllContext(event) {
  for (const frame of allFrames(event)) dropContext(frame);
}

function keepInnerFrames(event) {
  for (const value of event.exception?.values || []) {
    if (value.stacktrace?.frames) value.stacktrace.frames = value.stacktrace.frames.slice(-INNER_FRAMES_KEPT);
  }
}

module.exports = {
  MAX_CHAIN,
  MAX_EVENT_BYTES,
  MESSAGE_TYPE,
  buildEvent,
  buildMessageEvent,
  clientFingerprint,
  encodeEvent,
  exceptionValues,
};
