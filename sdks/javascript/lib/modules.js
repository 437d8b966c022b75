'use strict';

/**
 * `modules`: the installed packages an app runs with, name → version, read once per process, so bugstack
 * can tell an error that began with a package upgrade (the Python SDK's `send_modules`, Sentry's `modules`).
 *
 * Two sources, both read in the background at the first event, when the app has loaded what it uses: the
 * packages the project's package.json names (found the way Node resolves them, from the project root up),
 * and the packages of every file loaded with `require` so far (their own dependencies among them). A
 * package's version is the one in its own package.json; one that cannot be read is left out.
 */

const fs = require('node:fs/promises');
const path = require('node:path');

const { installedPackage } = require('./stacktrace');

const MAX_MODULES = 1000;
const MAX_NAME_LENGTH = 214; // npm's own limit
const MAX_VERSION_LENGTH = 100;
const DEPENDENCY_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies'];

const read = new Map(); // project root → a Promise of its modules, once per process

/**
 * A Promise of the modules of the app at `projectRoot`: the same frozen object for every event (copy it
 * before changing it). Files are read asynchronously, one at a time: the app's event loop never waits.
 */
function installedModules(projectRoot, loadedFiles = null) {
  if (!read.has(projectRoot)) {
    const files = loadedFiles ?? Object.keys(require.cache); // what is loaded now, at the first event
    const modules = collect(projectRoot, files).then(Object.freeze, () => Object.freeze({}));
    read.set(projectRoot, modules);
  }
  return read.get(projectRoot);
}

async function collect(projectRoot, loadedFiles) {
  const modules = {};
  const seen = new Set();
  const add = async (directory) => {
    if (directory === null || seen.has(directory) || seen.size >= MAX_MODULES) return;
    seen.add(directory);
    const manifest = await readJson(path.join(directory, 'package.json'));
    const name = manifest && manifest.name;
    const version = manifest && manifest.version;
    if (
      isShortString(name, MAX_NAME_LENGTH) &&
      isShortString(version, MAX_VERSION_LENGTH) &&
      !(name in modules)
    ) {
      modules[name] = version;
    }
  };
  for (const name of await declaredDependencies(projectRoot)) {
    await add(await resolvePackage(projectRoot, name));
  }
  for (const file of loadedFiles) {
    if (seen.size >= MAX_MODULES) break;
    await add(packageDirectory(file));
  }
  return modules;
}

/** The names in the project's package.json, in its dependency fields. */
async function declaredDependencies(projectRoot) {
  const manifest = await readJson(path.join(projectRoot, 'package.json'));
  if (manifest === null) return [];
  const names = new Set();
  for (const field of DEPENDENCY_FIELDS) {
    const dependencies = manifest[field];
    if (dependencies === null || typeof dependencies !== 'object') continue;
    for (const name of Object.keys(dependencies)) {
      if (isShortString(name, MAX_NAME_LENGTH) && !name.split('/').includes('..')) names.add(name);
    }
  }
  return [...names].slice(0, MAX_MODULES);
}

/** Where `name` is installed for code in `from`: the nearest node_modules/<name> going up, as Node looks. */
async function resolvePackage(from, name) {
  let directory = from;
  for (;;) {
    const candidate = path.join(directory, 'node_modules', name);
    if (await exists(path.join(candidate, 'package.json'))) return candidate;
    const parent = path.dirname(directory);
    if (parent === directory) return null;
    directory = parent;
  }
}

/** The package directory a loaded file belongs to: after its last node_modules, one name or @scope/name. */
function packageDirectory(file) {
  return typeof file === 'string' ? (installedPackage(file)?.directory ?? null) : null;
}

async function readJson(file) {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8'));
    return parsed !== null && typeof parsed === 'object' ? parsed : null;
  } catch {
    return null; // missing, unreadable or not JSON: nothing to say of it
  }
}

async function exists(file) {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

function isShortString(value, limit) {
  return typeof value === 'string' && value.length > 0 && value.length <= limit;
}

module.exports = { installedModules, packageDirectory };
