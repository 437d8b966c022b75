'use strict';

/**
 * Next.js: `onRequestError`, the instrumentation hook Next.js (15 and later) calls for every error a
 * request raises on the server, and `withBugstack(handler)` for a Pages Router API route.
 *
 *     // instrumentation.js
 *     export async function register() {
 *       const bugstack = await import('@bugstack/sdk');
 *       bugstack.init(); // reads BUGSTACK_DSN
 *     }
 *     export { onRequestError } from '@bugstack/sdk/next';
 *
 * Both only queue the event: the response waits for nothing, and Next.js answers as it would without them.
 */

const { createRequire } = require('node:module');
const path = require('node:path');

require('./index'); // the client `register()` configures, even when this module is loaded first
const current = require('./lib/current');
const { bodyOf, headersOf, pathOf, queryOf } = require('./lib/express');
const { describeRequest } = require('./lib/request');

const MECHANISM = 'nextjs';
const MAX_HEADERS = 100;
const MAX_CONTEXT_VALUE = 200;

nameFramework();

/**
 * Next.js's `onRequestError(error, request, context)`: report `error` with the request's method and route
 * (`context.routePath`, such as `/api/users/[id]`), and the router kind and route type as tags. Returns at
 * once and never throws.
 */
function onRequestError(error, request, context) {
  try {
    const client = current.client;
    if (!client || !client.enabled) return;
    const details = nextDetails(context);
    client.captureException(error, {
      request: nextRequestData(request, details.route_path, client.options),
      mechanism: MECHANISM,
      tags: nextTags(details),
      contexts: { nextjs: details },
    });
  } catch (failure) {
    current.client?.log.warn('bugstack could not report a Next.js error', failure);
  }
}

/**
 * Wrap a Pages Router API route `(req, res) => …`: an error it throws (or a promise it returns rejects
 * with) is reported, then thrown again, so Next.js answers as before. `route` names the route in the
 * event (`/api/users/[id]`); without it the request's path is used.
 */
function withBugstack(handler, { route } = {}) {
  if (typeof handler !== 'function') throw new TypeError('withBugstack expects an API route handler');
  return async function bugstackApiRoute(req, res) {
    try {
      return await handler.call(this, req, res);
    } catch (error) {
      reportApiRouteError(error, req, route);
      throw error;
    }
  };
}

function reportApiRouteError(error, req, route) {
  try {
    const client = current.client;
    if (!client || !client.enabled) return;
    const url = String(req?.url || '');
    const routeName = typeof route === 'string' && route ? route : pathOf(url);
    const details = { router_kind: 'Pages Router', route_path: routeName, route_type: 'route' };
    client.captureException(error, {
      request: describeRequest(client.options, {
        method: String(req?.method || ''),
        route: routeName,
        statusCode: null,
        path: pathOf(url),
        queryString: () => queryOf(url),
        headers: () => headersOf(req?.headers),
        body: () => bodyOf(req),
      }),
      mechanism: MECHANISM,
      tags: nextTags(details),
      contexts: { nextjs: details },
    });
  } catch (failure) {
    current.client?.log.warn('bugstack could not report a Next.js API route error', failure);
  }
}

/** What Next.js says about where the error happened, as short strings (it comes from the framework). */
function nextDetails(context) {
  const details = {};
  const fields = {
    router_kind: 'routerKind',
    route_path: 'routePath',
    route_type: 'routeType',
    render_source: 'renderSource',
    render_type: 'renderType',
    revalidate_reason: 'revalidateReason',
  };
  for (const [key, field] of Object.entries(fields)) {
    const value = read(context, field);
    if (typeof value === 'string' && value) details[key] = value.slice(0, MAX_CONTEXT_VALUE);
  }
  return details;
}

function nextTags(details) {
  const tags = {};
  if (details.router_kind) tags['next.router_kind'] = details.router_kind;
  if (details.route_type) tags['next.route_type'] = details.route_type;
  return tags;
}

/** `request` is `{path, method, headers}`; the path carries the query string. */
function nextRequestData(request, route, options) {
  const url = String(read(request, 'path') || '');
  return describeRequest(options, {
    method: String(read(request, 'method') || ''),
    route: route ?? null,
    statusCode: null,
    path: pathOf(url),
    queryString: () => queryOf(url),
    headers: () => plainHeaders(read(request, 'headers')),
    body: () => undefined, // Next.js does not hand the hook the body
  });
}

/** Headers as a plain object, from Node's `IncomingHttpHeaders` or a WHATWG `Headers`. */
function plainHeaders(headers) {
  if (headers && typeof headers.forEach === 'function' && typeof headers.get === 'function') {
    const copy = {};
    let count = 0;
    headers.forEach((value, name) => {
      if (count < MAX_HEADERS) copy[name] = String(value);
      count += 1;
    });
    return copy;
  }
  return headersOf(headers);
}

function read(object, name) {
  try {
    return object?.[name];
  } catch {
    return undefined;
  }
}

function nameFramework() {
  const framework = { name: 'nextjs' };
  const version = nextVersion();
  if (version) framework.version = version;
  current.framework = framework;
  if (current.client) current.client.framework = framework;
}

/** Next.js's version as the app resolves it (from the project root or working directory). */
function nextVersion() {
  const roots = [current.client?.options.projectRoot, process.cwd()];
  for (const root of roots) {
    if (!root) continue;
    try {
      return createRequire(path.join(root, 'package.json'))('next/package.json').version;
    } catch {
      // not resolvable from there
    }
  }
  return null;
}

module.exports = { onRequestError, withBugstack };
