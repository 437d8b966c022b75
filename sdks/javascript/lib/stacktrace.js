'use strict';

/**
 * Frames from a V8 stack (`err.stack`): where each one is and whether it is the app's own code.
 *
 * V8 prints `Type: message`, then one `    at …` line per frame, newest first:
 *
 *     at getUser (/srv/app/routes/users.js:42:17)
 *     at async Promise.all (index 0)
 *     at /srv/app/server.js:10:5
 *     at Layer.handleRequest (/srv/app/node_modules/router/lib/layer.js:152:17)
 *     at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
 *     at eval (eval at run (/srv/app/x.js:21:9), <anonymous>:1:24)
 *
 * Frames are returned oldest first, as the event schema orders them. A message is often built from
 * outside input, so its lines are skipped when the stack starts with it: a message cannot forge a frame
 * (and with it the name of a file the SDK would read source lines from). At most `MAX_STACK_CHARS` of a
 * stack are read and `MAX_FRAMES` frames kept, those nearest the error.
 */

const path = require('node:path');
const { fileURLToPath } = require('node:url');

const MAX_STACK_CHARS = 64 * 1024;
const MAX_FRAMES = 100;
const ANONYMOUS = '<anonymous>';
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/**
 * The frames of `stack` (oldest first), skipping `header`, the `Type: message` V8 began it with;
 * `inAppInclude` names packages whose frames are the app's own wherever they are installed.
 */
function framesFromStack(stack, header, projectRoot, inAppInclude = []) {
  if (typeof stack !== 'string') return [];
  const text = header && stack.startsWith(header) ? stack.slice(header.length) : stack;
  const newestFirst = [];
  for (const line of text.slice(0, MAX_STACK_CHARS).split('\n')) {
    const frame = parseFrameLine(line);
    if (frame !== null) {
      newestFirst.push(frame);
      if (newestFirst.length === MAX_FRAMES) break;
    }
  }
  return newestFirst.reverse().map((frame) => framePayload(frame, projectRoot, inAppInclude));
}

/** `{func, location}` of one `    at …` line; null for any other line. */
function parseFrameLine(line) {
  // V8 indents its frames: a line of a message that begins "at " is no frame.
  if (!/^\s/.test(line)) return null;
  const text = line.trim();
  if (!text.startsWith('at ')) return null;
  let body = text.slice(3);
  let func = '';
  if (body.endsWith(')')) {
    const open = matchingParen(body);
    if (open > 0) {
      func = body.slice(0, open).trim();
      body = body.slice(open + 1, -1);
    }
  }
  if (func.startsWith('async ')) func = func.slice('async '.length);
  // "Timeout.onTick [as _onTimeout]": the alias says how it was called this time, not what it is.
  const alias = func.endsWith(']') ? func.lastIndexOf(' [as ') : -1;
  if (alias > 0) func = func.slice(0, alias);
  if (body.startsWith('eval at ')) {
    // "eval at run (/srv/app/x.js:21:9), <anonymous>:1:24": the frame is in the evaluated code.
    body = body.slice(body.lastIndexOf(', ') + 2);
  }
  return { func: func || ANONYMOUS, ...splitLocation(body) };
}

/** The index of the "(" that the last ")" of `text` closes, or -1. */
function matchingParen(text) {
  let depth = 0;
  for (let index = text.length - 1; index >= 0; index -= 1) {
    if (text[index] === ')') depth += 1;
    else if (text[index] === '(') {
      depth -= 1;
      if (depth === 0) return index;
    }
  }
  return -1;
}

/** `file:line:column` into its parts; "native", "<anonymous>" and "index 0" have no numbers. */
function splitLocation(location) {
  const lastColon = location.lastIndexOf(':');
  const column = wholeNumber(location.slice(lastColon + 1));
  const beforeColumn = location.slice(0, lastColon);
  const secondColon = beforeColumn.lastIndexOf(':');
  const line = wholeNumber(beforeColumn.slice(secondColon + 1));
  if (lastColon < 0 || secondColon < 0 || column === null || line === null) {
    return { file: location.startsWith('index ') ? '' : location, lineno: null, colno: null };
  }
  return { file: beforeColumn.slice(0, secondColon), lineno: line, colno: column };
}

function wholeNumber(text) {
  return text.length > 0 && text.length < 10 && /^[0-9]+$/.test(text) ? Number(text) : null;
}

function framePayload(frame, projectRoot, inAppInclude) {
  const absPath = filePath(frame.file);
  const info = classify(absPath, projectRoot, inAppInclude);
  const payload = { filename: info.filename, function: frame.func, in_app: info.inApp };
  if (path.isAbsolute(absPath)) payload.abs_path = absPath;
  if (frame.lineno !== null) payload.lineno = frame.lineno;
  if (frame.colno !== null) payload.colno = frame.colno;
  return payload;
}

function filePath(file) {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file;
  }
}

/**
 * In-app means under the project root and not in node_modules, or in a package `inAppInclude` names (an
 * app run from its installed package, a plugin); Node's own modules (`node:internal/…`) never are. App
 * files are named relative to the root, packages from their folder in node_modules
 * (`express/lib/router.js` rather than the machine's `/srv/app/node_modules/express/lib/router.js`).
 */
function classify(absPath, projectRoot, inAppInclude = []) {
  if (!path.isAbsolute(absPath)) return { filename: absPath, inApp: false };
  const modules = absPath.lastIndexOf(NODE_MODULES);
  if (modules >= 0) {
    const filename = toSlashes(absPath.slice(modules + NODE_MODULES.length));
    return { filename, inApp: inAppInclude.includes(installedPackage(absPath)?.name) };
  }
  const root = projectRoot.endsWith(path.sep) ? projectRoot : projectRoot + path.sep;
  if (absPath.startsWith(root))
    return { filename: toSlashes(path.relative(projectRoot, absPath)), inApp: true };
  return { filename: toSlashes(absPath), inApp: false };
}

/**
 * The package a file belongs to, after its last node_modules: its `name` (`express`, or `@scope/name`) and
 * its `directory`; null outside node_modules, or for the package's directory itself.
 */
function installedPackage(file) {
  const at = file.lastIndexOf(NODE_MODULES);
  if (at < 0) return null;
  const start = at + NODE_MODULES.length;
  const parts = file.slice(start).split(path.sep);
  const length = parts[0].startsWith('@') ? 2 : 1;
  if (parts.length <= length) return null;
  const name = parts.slice(0, length);
  return { name: name.join('/'), directory: file.slice(0, start) + name.join(path.sep) };
}

function toSlashes(file) {
  return path.sep === '/' ? file : file.split(path.sep).join('/');
}

module.exports = { MAX_FRAMES, classify, framesFromStack, installedPackage, parseFrameLine };
