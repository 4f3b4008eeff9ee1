// Makes the Python environment the tests use as an oracle: a virtual
// environment in .cache/test-python holding __test__/python-requirements.txt,
// made once and rebuilt when that file changes. Nothing is installed into the
// machine's own Python. Run by jest's globalSetup; also runnable by hand:
//   node scripts/test-python.mjs
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REQUIREMENTS = join(ROOT, '__test__', 'python-requirements.txt');
export const VENV = join(ROOT, '.cache', 'test-python');
export const VENV_PYTHON = join(VENV, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
// Holds the hash of the requirements the environment was made from; written last, so a killed setup is redone.
const STAMP = join(VENV, 'requirements.sha256');
// Written instead of the stamp when provisioning failed; the tests that need Python report it.
export const FAILURE = join(ROOT, '.cache', 'test-python.failed');

const HOW = 'python3 -m venv .cache/test-python && .cache/test-python/bin/pip install -r __test__/python-requirements.txt';

function run(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return `${command} could not be started: ${r.error.message}`;
  if (r.status !== 0) return `${command} ${args.join(' ')} exited with ${r.status}:\n${(r.stderr || r.stdout).trim()}`;
  return null;
}

/** Makes (or reuses) the environment; returns null on success or a message saying what failed and how to fix it. */
export function provisionTestPython({ log = () => {} } = {}) {
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === wanted && existsSync(VENV_PYTHON)) {
    rmSync(FAILURE, { force: true });
    return null;
  }
  log("making the tests' Python environment in .cache/test-python (numpy and the other oracles, from PyPI)");
  rmSync(VENV, { recursive: true, force: true });
  mkdirSync(dirname(VENV), { recursive: true });
  const base = process.env.WSI_TEST_PYTHON ?? 'python3';
  const failed =
    run(base, ['-m', 'venv', VENV]) ??
    run(VENV_PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  if (failed) {
    const message = `the tests' Python environment could not be made: ${failed}\nNeeds Python 3.9+ as python3 (or WSI_TEST_PYTHON) and PyPI; by hand: ${HOW}`;
    writeFileSync(FAILURE, message);
    return message;
  }
  writeFileSync(STAMP, `${wanted}\n`);
  rmSync(FAILURE, { force: true });
  return null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const failed = provisionTestPython({ log: console.log });
  if (failed) {
    console.error(failed);
    process.exit(1);
  }
  console.log(VENV_PYTHON);
}
