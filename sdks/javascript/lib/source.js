'use strict';

/**
 * Source lines around each frame, read in the background just before an event is sent, never on the
 * request path. Files are read whole, at most `MAX_FILE_BYTES` each, and the last `CACHED_FILES` read are
 * kept: an error that repeats costs no more reads. Only JavaScript and TypeScript sources are read, so
 * that a path in a stack can never make the SDK send lines of some other file.
 */

const fs = require('node:fs/promises');
const path = require('node:path');

const CONTEXT_LINES = 5;
const MAX_LINE_LENGTH = 300;
const MAX_FILE_BYTES = 1024 * 1024;
const CACHED_FILES = 64;
const SOURCE_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.jsx', '.ts', '.cts', '.mts', '.tsx']);

class SourceCache {
  constructor() {
    this.files = new Map(); // path → Promise of its lines, or of null when it cannot be read
  }

  /** Add `context_line`, `pre_context` and `post_context` to every frame whose file can be read. */
  async addContext(frames) {
    for (const frame of frames) {
      if (!frame.abs_path || !frame.lineno || !SOURCE_EXTENSIONS.has(path.extname(frame.abs_path))) continue;
      const lines = await this.lines(frame.abs_path);
      if (lines !== null && frame.lineno <= lines.length)
        Object.assign(frame, contextAround(lines, frame.lineno));
    }
  }

  lines(file) {
    let lines = this.files.get(file);
    if (lines === undefined) {
      lines = readLines(file);
      if (this.files.size >= CACHED_FILES) this.files.delete(this.files.keys().next().value);
    } else {
      this.files.delete(file); // moved to the end: the most recently used
    }
    this.files.set(file, lines);
    return lines;
  }
}

async function readLines(file) {
  try {
    const stats = await fs.stat(file);
    if (!stats.isFile() || stats.size > MAX_FILE_BYTES) return null;
    return (await fs.readFile(file, 'utf8')).split('\n');
  } catch {
    return null; // deleted since, or unreadable: the frame goes without its source
  }
}

function contextAround(lines, lineno) {
  const index = lineno - 1;
  return {
    context_line: clip(lines[index]),
    pre_context: lines.slice(Math.max(0, index - CONTEXT_LINES), index).map(clip),
    post_context: lines.slice(index + 1, index + 1 + CONTEXT_LINES).map(clip),
  };
}

function clip(line) {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  return text.length <= MAX_LINE_LENGTH ? text : `${text.slice(0, MAX_LINE_LENGTH)}…`;
}

module.exports = { CONTEXT_LINES, MAX_FILE_BYTES, SourceCache };
