#!/usr/bin/env node
/**
 * SDK overhead, Node.js: the same Express app with no SDK, with @bugstack/sdk and with @sentry/node,
 * measured in one run.
 *
 *     npm ci --prefix bench/sdk_overhead_js
 *     node bench/sdk_overhead_js.mjs [--seconds 4] [--rounds 5] [--warmup 2] [--connections 1]
 *
 * Each variant is its own process (Sentry instruments Express and http globally) and wrk drives them in
 * turn, round after round, the order rotating each round, so drift on a shared machine hits all three
 * alike; a figure is the median over rounds. Events go to a local sink in a fourth process, as they
 * would go to bugstack or Sentry in production. With one connection (the default) requests are serial:
 * 1/rps is the whole cycle of one request, so 1/rps_variant − 1/rps_none is the time an SDK adds to
 * each request, including what it does on the event loop between requests, and p50 is a response
 * time rather than the length of a queue.
 *
 * Progress goes to stderr; stdout gets one JSON line: per variant and route rps, p50_ms, p99_ms and
 * overhead_us, then bugstack_vs_sentry_overhead (ours ÷ Sentry's, route without error) and
 * error_added_ms (p50 of the failing route with @bugstack/sdk minus without an SDK).
 */

import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SCRIPT = fileURLToPath(import.meta.url);
const VARIANTS = ['none', 'bugstack', 'sentry'];
const ROUTES = { ok: '/products/1', error: '/broken/1' };
// The budgets, reported and not asserted: timings do not make pass/fail tests.
const MAX_OVERHEAD_RATIO = 1 / 3;
const MAX_ERROR_ADDED_MS = 1;

// Dependencies come from the bench's own folder and the SDK from the checkout, never from an install.
const requireBenchDependency = createRequire(new URL('./sdk_overhead_js/package.json', import.meta.url));
const BUGSTACK_SDK = fileURLToPath(new URL('../sdks/javascript/index.js', import.meta.url));

// --- the sink: answers every event like bugstack (202) or Sentry (200) does, and counts them -----------

function serveSink() {
  const counts = {};
  const server = createServer((req, res) => {
    if (req.method !== 'POST') return answer(res, 200, counts);
    req.resume(); // the body is read and dropped: the sink only has to accept it
    req.on('end', () => {
      const path = req.url.split('?')[0]; // Sentry puts its key and version in the query string
      counts[path] = (counts[path] ?? 0) + 1;
      if (path.endsWith('/envelope/')) answer(res, 200, { id: '0'.repeat(32) });
      else answer(res, 202, { id: 'accepted' });
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
}

function answer(res, status, body) {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
  res.end(bytes);
}

// --- a variant: the app, instrumented or not ---------------------------------------------------------

function priceWithTax(cents, rate) {
  if (rate === 0) throw new RangeError('tax rate must not be zero'); // the bug the error route exercises
  return cents + Math.floor((cents * 100) / rate);
}

function serveVariant(variant, dsn) {
  let Sentry = null;
  if (variant === 'sentry') {
    // Sentry's v9 set-up for Express: init (its "instrument" file) before Express is first required.
    Sentry = requireBenchDependency('@sentry/node');
    Sentry.init({ dsn });
  }
  const express = requireBenchDependency('express');
  const bugstack = variant === 'bugstack' ? createRequire(import.meta.url)(BUGSTACK_SDK) : null;
  bugstack?.init({ dsn });

  const app = express();
  app.set('env', 'test'); // Express's 500 page then skips printing the stack, in every variant alike
  if (bugstack) app.use(bugstack.requestHandler());
  app.get('/products/:id', (req, res) => {
    res.json({ id: Number(req.params.id), name: 'Moka pot', price: priceWithTax(3400, 20) });
  });
  app.get('/broken/:id', (req, res) => {
    res.json({ id: Number(req.params.id), price: priceWithTax(3400, 0) });
  });
  app.get('/bench/stats', (req, res) => res.json(bugstack ? bugstack.getClient().stats : {}));
  if (bugstack) app.use(bugstack.expressErrorHandler());
  if (Sentry) Sentry.setupExpressErrorHandler(app);

  const server = app.listen(0, '127.0.0.1', () => console.log(server.address().port));
}

// --- the parent: start the processes, interleave the variants, summarise -----------------------------

/** Start this script in another role and resolve with the port it printed once listening. */
function startChild(args) {
  const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.once('data', (line) => resolve(Number.parseInt(line, 10)));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} stopped (exit code ${code})`)));
  });
  return { child, port };
}

function runWrk(port, path, seconds, connections) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}${path}`];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (seconds + 30) * 1000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

const TIME_UNITS_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkTimeMs(output, label) {
  const match = output.match(new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'));
  if (!match) throw new Error(`wrk printed no ${label} latency:\n${output}`);
  return Number(match[1]) * TIME_UNITS_MS[match[2]];
}

function wrkCount(output, pattern) {
  const match = output.match(pattern);
  return match ? Number(match[1]) : 0;
}

/** rps and latency of one wrk run, after checking every answer had the route's status. */
function parseWrk(output, route) {
  const requests = wrkCount(output, /^\s*(\d+) requests in/m);
  const failed = wrkCount(output, /Non-2xx or 3xx responses: (\d+)/);
  const socketErrors = output.match(/Socket errors: .*/);
  const expectedFailed = route === 'error' ? requests : 0;
  if (requests === 0 || failed !== expectedFailed || socketErrors) {
    throw new Error(`unexpected answers on the ${route} route:\n${output}`);
  }
  return {
    rps: wrkCount(output, /Requests\/sec:\s+([\d.]+)/),
    p50: wrkTimeMs(output, '50%'),
    p99: wrkTimeMs(output, '99%'),
  };
}

/** One wrk run per variant, the order rotated by `round` so none is always first or last. */
async function measureRound(ports, route, round, seconds, connections) {
  const samples = {};
  for (let i = 0; i < VARIANTS.length; i++) {
    const variant = VARIANTS[(i + round) % VARIANTS.length];
    samples[variant] = parseWrk(await runWrk(ports[variant], ROUTES[route], seconds, connections), route);
  }
  return samples;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round3(value) {
  return Math.round(value * 1000) / 1000;
}

/** Per variant: median rps, p50 and p99 over the rounds, and µs added per request against no SDK. */
function summariseRoute(rounds) {
  const medianOf = (variant, figure) => median(rounds.map((samples) => samples[variant][figure]));
  const noneRps = medianOf('none', 'rps');
  const figures = {};
  for (const variant of VARIANTS) {
    const rps = medianOf(variant, 'rps');
    figures[variant] = {
      rps: Math.round(rps),
      p50_ms: round3(medianOf(variant, 'p50')),
      p99_ms: round3(medianOf(variant, 'p99')),
      overhead_us: Math.round((1 / rps - 1 / noneRps) * 1e6 * 100) / 100,
    };
  }
  return figures;
}

async function getJson(port, path) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return response.json();
}

function loadAverages() {
  return os.loadavg().map((value) => Math.round(value * 100) / 100);
}

function progress(message) {
  process.stderr.write(`${message}\n`);
}

async function checkWrk() {
  await new Promise((resolve, reject) =>
    execFile('wrk', ['--version'], (error) =>
      // wrk --version exits 1 after printing; only a missing binary is an error here.
      error?.code === 'ENOENT' ? reject(new Error('wrk is not installed (apt-get install wrk)')) : resolve(),
    ),
  );
}

async function main(options) {
  await checkWrk();
  const loadStart = loadAverages();
  progress(`node ${process.version}, ${os.cpus().length} CPUs, load averages at start ${loadStart}`);
  const children = [];
  try {
    const sink = startChild(['--sink']);
    children.push(sink.child);
    const dsn = `http://benchkey@127.0.0.1:${await sink.port}/1`;
    const ports = {};
    for (const variant of VARIANTS) {
      const started = startChild(['--variant', variant, '--dsn', dsn]);
      children.push(started.child);
      ports[variant] = await started.port;
    }

    const results = {};
    for (const route of Object.keys(ROUTES)) {
      progress(`${route}: warm-up, ${options.warmup} s per variant`);
      await measureRound(ports, route, 0, options.warmup, options.connections);
      const rounds = [];
      for (let round = 0; round < options.rounds; round++) {
        const samples = await measureRound(ports, route, round, options.seconds, options.connections);
        rounds.push(samples);
        const line = VARIANTS.map(
          (v) => `${v} ${Math.round(samples[v].rps)} rps p50 ${round3(samples[v].p50)} ms`,
        );
        progress(`${route} round ${round + 1}/${options.rounds}: ${line.join(', ')}`);
      }
      results[route] = summariseRoute(rounds);
    }
    const bugstackStats = await getJson(ports.bugstack, '/bench/stats');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the last events reach the sink
    const sinkCounts = await getJson(await sink.port, '/');
    return summarise(results, options, { bugstackStats, sinkCounts, loadStart });
  } finally {
    for (const child of children) child.kill();
  }
}

function summarise(results, options, { bugstackStats, sinkCounts, loadStart }) {
  const figures = {};
  for (const variant of VARIANTS) {
    figures[variant] = { ok: results.ok[variant], error: results.error[variant] };
  }
  const ratio = results.ok.bugstack.overhead_us / results.ok.sentry.overhead_us;
  const errorAddedMs = round3(results.error.bugstack.p50_ms - results.error.none.p50_ms);
  return {
    ...figures,
    bugstack_vs_sentry_overhead: results.ok.sentry.overhead_us > 0 ? round3(ratio) : null,
    error_added_ms: errorAddedMs,
    sentry_error_added_ms: round3(results.error.sentry.p50_ms - results.error.none.p50_ms),
    budget_overhead_held: results.ok.sentry.overhead_us > 0 && ratio < MAX_OVERHEAD_RATIO,
    budget_error_held: errorAddedMs < MAX_ERROR_ADDED_MS,
    bugstack_stats: bugstackStats,
    sink_received: sinkCounts,
    seconds: options.seconds,
    rounds: options.rounds,
    connections: options.connections,
    node: process.version,
    nproc: os.availableParallelism(),
    loadavg_start: loadStart,
    loadavg_end: loadAverages(),
  };
}

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '1' },
    variant: { type: 'string' },
    dsn: { type: 'string' },
    sink: { type: 'boolean', default: false },
  },
});

if (args.sink) {
  serveSink();
} else if (args.variant) {
  if (!VARIANTS.includes(args.variant)) throw new Error(`unknown variant ${args.variant}`);
  serveVariant(args.variant, args.dsn);
} else {
  const options = {
    seconds: positiveInteger(args.seconds, '--seconds'),
    rounds: positiveInteger(args.rounds, '--rounds'),
    warmup: positiveInteger(args.warmup, '--warmup'),
    connections: positiveInteger(args.connections, '--connections'),
  };
  const summary = await main(options);
  progress(`load averages at end ${summary.loadavg_end}`);
  console.log(JSON.stringify(summary));
}

function positiveInteger(text, name) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a whole number ≥ 1, not ${text}`);
  return value;
}
