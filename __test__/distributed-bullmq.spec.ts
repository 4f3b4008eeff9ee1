// One slide on many processes through BullMQ on a real Redis: a flow whose
// children are region jobs (examples/distributed), run by 3 worker
// processes, one of them killed mid-job; BullMQ hands its job to another
// worker and the merged mask equals the single-process build bit for bit.
// Redis runs on a free 127.0.0.1 port and everything is stopped afterwards,
// whatever happens.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { readNpy } from '../src-ts/index';
import { type RedisServer, startRedis } from './helpers/redis';
import { scratchDir } from './helpers/scratch';

const EXAMPLE = join(__dirname, '..', 'examples', 'distributed');
const SLIDE = '520x700';

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function start(script: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [join(EXAMPLE, script), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let rest = '';
  const take = (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

/** Waits (bounded) until `test` holds, polling. */
async function until(what: string, test: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let redis: RedisServer | undefined;
const procs: Proc[] = [];
const scratch = scratchDir('distributed');

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await redis?.stop();
  scratch.remove();
});

test('3 workers, one killed mid-job: the flow still merges the single-process mask', async () => {
  redis = await startRedis();
  expect(redis.version[0] * 100 + redis.version[1]).toBeGreaterThanOrEqual(602);
  const env = { REDIS_URL: redis.url, WSI_LOCK_MS: '1500' };
  const workers = [0, 1, 2].map(() => start('worker.mjs', [], env));
  procs.push(...workers);
  await until('3 workers ready', () => workers.every((w) => w.lines.some((l) => l.endsWith(' ready'))), 60_000);

  const shared = join(scratch.dir, 'shared');
  const output = join(scratch.dir, 'masks');
  const submit = start('submit.mjs', [shared, output, '3', SLIDE], { ...env, WSI_SLOW_MS: '400' });
  procs.push(submit);

  // Kill the first worker seen starting a region job, once, while the job runs.
  await until(
    'a region job to start',
    () => workers.some((w) => w.lines.some((l) => l.includes(' start slide-0 region'))),
    20_000,
  );
  const victim = workers.find((w) => w.lines.some((l) => l.includes(' start slide-0 region')))!;
  const started = victim.lines.find((l) => l.includes(' start slide-0 region'))!;
  const region = / region (\d+) /.exec(started)![1];
  await new Promise((r) => setTimeout(r, 300));
  expect(victim.lines.some((l) => l.includes(`saved slide-0 region ${region}`))).toBe(false);
  victim.child.kill('SIGKILL');
  await victim.exited;

  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    submit.exited,
    new Promise<never>((_, reject) => {
      const logs = () => [...workers, submit].map((w) => w.lines.join('\n')).join('\n--\n');
      timer = setTimeout(() => reject(new Error(`flow not done in 90 s:\n${logs()}`)), 90_000);
    }),
  ]).finally(() => clearTimeout(timer));
  expect(code).toBe(0);
  const { mask } = JSON.parse(submit.lines.find((l) => l.startsWith('{'))!);

  // The killed worker's region ran again on a surviving worker, and every region was saved once.
  const survivors = workers.filter((w) => w !== victim);
  expect(survivors.some((w) => w.lines.some((l) => l.includes(`start slide-0 region ${region} `)))).toBe(true);
  for (const r of ['0', '1', '2']) {
    expect(survivors.flatMap((w) => w.lines).filter((l) => l.includes(`saved slide-0 region ${r}`))).toHaveLength(1);
  }
  expect(survivors.flatMap((w) => w.lines).some((l) => l.includes('merged slide-0 from 3 partials'))).toBe(true);

  const reference = join(scratch.dir, 'single.npy');
  const single = start('single.mjs', [SLIDE, reference], {});
  procs.push(single);
  expect(await single.exited).toBe(0);
  const got = readNpy(mask);
  const want = readNpy(reference);
  expect(got.shape).toEqual(want.shape);
  expect(Buffer.from(got.data.buffer).equals(Buffer.from(want.data.buffer))).toBe(true);
}, 240_000);
