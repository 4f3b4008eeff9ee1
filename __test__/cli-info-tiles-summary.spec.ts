// Regression: `info` on a tiles file printed one "channel" line per tile (46,567 lines for 46k tiles), and
// `info ... | head` died with an EPIPE stack trace. Tiles [N, C, ...] get per-C lines; many channels are summarized;
// a closed pipe ends the command quietly.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../src-ts/npy';
import { CLI, runCli } from './helpers/cli';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-cli-info-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('info on tiles [N, C, h, w] prints one line per channel C, not per tile', () => {
  const n = 5000;
  const data = new Float32Array(n * 2 * 4).map((_, i) => (Math.floor(i / 4) % 2 === 0 ? 1 : 10) + (i % 4));
  writeNpy(join(dir, 'tiles.npy'), { data, shape: [n, 2, 2, 2], dtype: 'float32' });
  const run = runCli(['info', 'tiles.npy'], dir);
  expect(run.status).toBe(0);
  expect(run.stdout).toBe(
    [
      'tiles.npy',
      '  shape   [5000, 2, 2, 2] (tiles [N, C, ...]: channels second)',
      '  dtype   float32',
      '  version NPY 1.0',
      '  channel 0: min=1  max=4  mean=2.50000',
      '  channel 1: min=10  max=13  mean=11.5000',
      '',
    ].join('\n'),
  );
});

test('info on an array with many channels prints 16 and summarizes the rest', () => {
  writeNpy(join(dir, 'wide.npy'), {
    data: Float32Array.from({ length: 300 * 2 * 2 }, (_, i) => i),
    shape: [300, 2, 2],
    dtype: 'float32',
  });
  const run = runCli(['info', 'wide.npy', '--channel-axis', 'first'], dir);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(4 + 16 + 2);
  expect(lines[4 + 16]).toBe('  ... 284 more channels');
  expect(lines[4 + 17]).toBe('  all channels: min=0  max=1199  mean=599.500');
});

test('info exits quietly (status 0, nothing on stderr) when its reader closes the pipe early', async () => {
  writeNpy(join(dir, 'pipe.npy'), { data: new Float32Array(1 << 20), shape: [1 << 20], dtype: 'float32' });
  const child = spawn(process.execPath, [CLI, 'info', 'pipe.npy'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  // Like `| head -0`: the reader is gone before the command writes.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(stderr).toBe('');
  expect(status).toBe(0);
});
