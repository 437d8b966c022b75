'use strict';

/**
 * Express: `expressErrorHandler()` reports errors that reach Express's error handling and passes
 * them on unchanged; `requestHandler()` lets a `captureException` inside a request describe that request.
 *
 *     app.use(bugstack.requestHandler());   // first
 *     // … routes …
 *     app.use(bugstack.expressErrorHandler()); // after the routes, before the app's own error handlers
 */

const { createRequire } = require('node:module');
const path = require('node:path');

const current = require('./current');
const { MAX_BODY_BYTES, currentRequest, decodeBody, describeRequest } = require('./request');

const MAX_HEADERS = 100;
const MOUNT_PATH = Symbol('bugstack.mountPath');

/**
 * An error middleware that captures `err` with the request's method and route, then calls `next(err)`:
 * the response waits for nothing, and the app's own error handlers (or Express's 500 page) answer as
 * before. Errors carrying a 4xx `status` or `statusCode` (a 404 from http-errors) are the client's
 * mistake and are not reported, as Express answers them with that status.
 */
function expressErrorHandler() {
  nameFramework();
  return function bugstackErrorHandler(err, req, res, next) {
    try {
      const status = errorStatus(err);
      if (status === null || status >= 500) {
        const client = current.client;
        client.captureException(err, {
          request: expressRequestData(req, client.options, status ?? 500),
          mechanism: 'express',
        });
      }
    } catch (failure) {
      current.client.log.warn('bugstack could not report an Express error', failure);
    }
    next(err);
  };
}

/** A middleware that scopes the rest of the request, so a manual `captureException` describes it. */
function requestHandler() {
  nameFramework();
  return function bugstackRequestHandler(req, res, next) {
    rememberMountPath(req);
    currentRequest.run({ describe: (options) => expressRequestData(req, options, null) }, next);
  };
}

function expressRequestData(req, options, statusCode) {
  return describeRequest(options, {
    method: String(req.method || ''),
    route: routeOf(req),
    statusCode,
    path: pathOf(String(req.originalUrl || req.url || '')),
    queryString: () => queryOf(String(req.originalUrl || req.url || '')),
    headers: () => headersOf(req.headers),
    body: () => bodyOf(req),
  });
}

/**
 * Note the router's mount path when Express sets `req.route`.
 *
 * An app-level error handler runs after Express left the router: by then `req.baseUrl` no longer says
 * that `/:id` was mounted at `/users`. Express assigns `req.route` when a route matches, while
 * `req.baseUrl` is still the router's, so an accessor on `req.route` can keep it.
 */
function rememberMountPath(req) {
  let route;
  try {
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (value) => {
        route = value;
        req[MOUNT_PATH] = typeof req.baseUrl === 'string' ? req.baseUrl : '';
      },
    });
  } catch {
    // a frozen or exotic request: routes are named without their mount path
  }
}

/** The route as declared (`/users/:id`): its router's mount path, then its own path. */
function routeOf(req) {
  const routePath = req.route?.path;
  if (routePath === undefined || routePath === null) return null;
  const declared = Array.isArray(routePath) ? routePath.map(String).join(',') : String(routePath);
  const mountPath = req[MOUNT_PATH] ?? req.baseUrl;
  return `${typeof mountPath === 'string' ? mountPath : ''}${declared}`;
}

function pathOf(url) {
  const question = url.indexOf('?');
  return question < 0 ? url : url.slice(0, question);
}

function queryOf(url) {
  const question = url.indexOf('?');
  return question < 0 ? '' : url.slice(question + 1);
}

function headersOf(headers) {
  const copy = {};
  for (const [name, value] of Object.entries(headers || {}).slice(0, MAX_HEADERS)) {
    copy[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return copy;
}

/** The body a parser (express.json, express.urlencoded, express.text, express.raw) left on `req.body`. */
function bodyOf(req) {
  const body = req.body;
  if (body === undefined || body === null) return undefined;
  const contentType = String(req.headers?.['content-type'] || '').toLowerCase();
  if (contentType.startsWith('multipart/')) return '[multipart body not captured]';
  if (typeof body === 'string' || Buffer.isBuffer(body)) return decodeBody(body, contentType);
  const declared = Number(req.headers?.['content-length']);
  if (declared > MAX_BODY_BYTES) return `[${declared} bytes not captured]`;
  let json;
  try {
    json = JSON.stringify(body);
  } catch {
    return '[body cannot be written as JSON; not captured]'; // a cycle, a BigInt
  }
  if (json === undefined) return undefined;
  if (json.length > MAX_BODY_BYTES) return `[${json.length} bytes not captured]`;
  return JSON.parse(json); // a copy: the app may change its body before the event is sent
}

/** The HTTP status an error asks for (http-errors' `status`/`statusCode`), or null. */
function errorStatus(err) {
  let status;
  try {
    status = err?.status ?? err?.statusCode;
  } catch {
    return null;
  }
  return Number.isInteger(status) && status >= 400 && status < 600 ? status : null;
}

function nameFramework() {
  const framework = { name: 'express' };
  const version = expressVersion();
  if (version) framework.version = version;
  current.framework = framework;
  if (current.client) current.client.framework = framework;
}

/** Express's version as the app resolves it (from the project root), not as this package would. */
function expressVersion() {
  const roots = [current.client?.options.projectRoot, process.cwd()];
  for (const root of roots) {
    if (!root) continue;
    try {
      return createRequire(path.join(root, 'package.json'))('express/package.json').version;
    } catch {
      // not resolvable from there
    }
  }
  return null;
}

module.exports = {
  bodyOf,
  errorStatus,
  expressErrorHandler,
  headersOf,
  pathOf,
  queryOf,
  requestHandler,
  routeOf,
};
