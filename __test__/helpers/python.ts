// Runs Python with the tests' own environment (numpy and the other oracles in
// __test__/python-requirements.txt), made by scripts/test-python.mjs from
// jest's globalSetup; never the machine's Python packages.
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const VENV_PYTHON = join(ROOT, '.cache', 'test-python', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const FAILURE = join(ROOT, '.cache', 'test-python.failed');

/** The tests' Python interpreter; throws, saying how to make it, when the environment is missing. */
export function pythonExecutable(): string {
  if (existsSync(FAILURE)) throw new Error(readFileSync(FAILURE, 'utf8'));
  if (!existsSync(VENV_PYTHON)) {
    throw new Error(
      "the tests' Python environment is missing: run the tests through jest (its globalSetup makes it) or `node scripts/test-python.mjs`",
    );
  }
  return VENV_PYTHON;
}

/** Runs `code` with the tests' Python; returns stdout, trimmed. Throws with Python's stderr on failure. */
export function python(code: string, args: string[] = [], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(pythonExecutable(), ['-c', code, ...args], { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return String(r.stdout).trim();
}
