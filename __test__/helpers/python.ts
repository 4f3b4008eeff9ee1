// Runs Python snippets with numpy (installed by .ci/run).
import { spawnSync } from 'node:child_process';

export function python(code: string, args: string[] = []): string {
  const r = spawnSync('python3', ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}
