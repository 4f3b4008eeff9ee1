// A random API fuzzer: random sequences of public calls with random, mostly
// wrong, arguments on a few live objects (builders on both backends, in
// memory and memory-mapped, mapped NPY files), including writes aimed at the
// files they map. Every call must return or throw an error carrying a string
// `code`; nothing may crash the process (run it in a child and check the
// exit signal). Usage:
//   node --expose-gc -r ./__test__/helpers/register-ts.js __test__/helpers/api-fuzzer.ts <seed> <budget-ms> <dir>
// Prints `calls <n> errors <m>` and `done`, or `UNCODED ...` and exits 3.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MaskBuilder, MaxAggregator, openNpy, readNpy, resizeToSource } from '../../src-ts/index';
import { writeNpy } from '../../src-ts/npy';

const [seedArg, budgetArg, dirArg] = process.argv.slice(2);
const seed = Number(seedArg ?? 1);
const budget = Number(budgetArg ?? 3000);
const dir = dirArg ?? join(require('node:os').tmpdir(), `wsi-fuzz-${process.pid}`);
mkdirSync(dir, { recursive: true });
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

// mulberry32: small, seedable, good enough to pick calls.
let state = seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(values: readonly T[]): T => values[int(values.length)];

const WEIRD: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  2 ** 32,
  '4',
  [],
  {},
  [4, 4],
  true,
];
const maybe = <T>(good: () => T): unknown => (random() < 0.8 ? good() : pick(WEIRD));

const builders: MaskBuilder<any>[] = [];
const mapped: ReturnType<typeof openNpy>[] = [];
const names = ['a.npy', 'b.npy', 'a.overlaps.npy', 'c.npy'];
const path = () => join(dir, pick(names));
let files = 0;

function newBuilder(): void {
  const memmap = random() < 0.4;
  const tile = pick([4, 8, 16]);
  const options: Record<string, unknown> = {
    sourceExtents: maybe(() => [8 + int(120), 8 + int(120)]),
    sourceTileExtent: maybe(() => tile),
    outputTileExtent: maybe(() => pick([1, tile / 2, tile])),
    stride: maybe(() => pick([tile / 2, tile])),
    nChannels: maybe(() => 1 + int(3)),
    backend: memmap ? 'native' : pick(['native', 'js']),
  };
  if (random() < 0.3) options.aggregation = MaxAggregator;
  if (random() < 0.3) options.dtype = pick(['float32', 'float64', 'int8']);
  if (memmap) {
    options.storage = 'memmap';
    if (random() < 0.5) options.filename = random() < 0.9 ? join(dir, `f${files++}.npy`) : path();
    else options.tempDir = dir;
  }
  builders.push(new MaskBuilder(options as any));
}

function batchFor(b: MaskBuilder<any>) {
  const channels = b.nChannels;
  const tiles = int(4);
  const out = b.outputTileExtent;
  const len = tiles * channels * out[0] * out[1];
  const data = random() < 0.9 ? new (random() < 0.5 ? Float32Array : Float64Array)(len).fill(random() * 4 - 1) : pick(WEIRD);
  const shape = maybe(() => [tiles, channels, out[0], out[1]]);
  const coords = new Int32Array(2 * tiles);
  for (let i = 0; i < coords.length; i++) coords[i] = random() < 0.95 ? int(b.sourceExtents[i % 2]) : int(1e6) - 1;
  return [{ data, shape }, maybe(() => ({ data: coords, shape: [tiles, 2] })), maybe(() => int(3))] as const;
}

const actions: [number, () => unknown][] = [
  [3, newBuilder],
  [10, () => builders.length && (pick(builders).updateBatch as any)(...batchFor(pick(builders)))],
  [5, () => builders.length && (pick(builders).updateBatchAsync as any)(...batchFor(pick(builders))).catch(() => {})],
  [3, () => builders.length && pick(builders).finalize()],
  [
    2,
    () =>
      builders.length &&
      pick(builders)
        .finalizeAsync()
        .catch(() => {}),
  ],
  [2, () => builders.length && pick(builders).cleanup()],
  [4, () => builders.length && pick(builders).storage.data[0]],
  [2, () => builders.length && pick(builders).overlapCounter?.data.length],
  [
    3,
    () =>
      builders.length &&
      pick(builders).readRegion(maybe(() => 0) as number, maybe(() => [0, 0]) as number[], maybe(() => [2, 2]) as number[]),
  ],
  [
    3,
    () => {
      const b = pick(builders);
      if (!b) return;
      const mask = { data: new Float32Array(b.maskExtents[0] * b.maskExtents[1]), shape: [1, ...b.maskExtents] };
      return b.resizeToSource(
        mask,
        random() < 0.5 ? { filename: path(), overwrite: random() < 0.5 } : { kernel: pick(['nearest', 'cubic', 'x']) as any },
      );
    },
  ],
  [
    2,
    () =>
      resizeToSource(
        maybe(() => ({ data: new Float32Array(12), shape: [3, 2, 2] })),
        {
          sourceExtents: maybe(() => [1 + int(40), 1 + int(40)]),
          maskExtents: maybe(() => [2, 2]),
          span: maybe(() => [64, 64]),
        } as any,
        random() < 0.3 ? { filename: path(), overwrite: random() < 0.5 } : { maxInMemoryBytes: maybe(() => 1 << 20) as number },
      ),
  ],
  [2, () => mapped.push(openNpy(path(), random() < 0.2 ? { maxViewBytes: pick(WEIRD) as number } : {}))],
  [3, () => mapped.length && (pick(mapped).array.data as ArrayLike<number>)[0]],
  [1, () => mapped.length && pick(mapped).close()],
  [2, () => writeNpy(path(), { data: new Float32Array(4), shape: maybe(() => [4]) } as any)],
  [1, () => readNpy(path())],
  [1, () => rmSync(path(), { force: true })],
  [1, () => gc()],
];
const total = actions.reduce((a, [w]) => a + w, 0);
function action(): () => unknown {
  let r = random() * total;
  for (const [w, f] of actions) {
    r -= w;
    if (r < 0) return f;
  }
  return actions[0][1];
}

async function main(): Promise<void> {
  const start = Date.now();
  let calls = 0;
  let errors = 0;
  while (Date.now() - start < budget) {
    calls++;
    try {
      action()();
    } catch (e) {
      errors++;
      const code = (e as { code?: unknown })?.code;
      if (!(e instanceof Error) || typeof code !== 'string') {
        console.log(`UNCODED after ${calls} calls (seed ${seed}): ${e instanceof Error ? e.stack : String(e)}`);
        process.exit(3);
      }
    }
    if (builders.length > 12) for (const b of builders.splice(0, 6)) b.cleanup();
    if (mapped.length > 8) for (const m of mapped.splice(0, 4)) m.close();
    if (calls % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  for (const b of builders) b.cleanup();
  for (const m of mapped) m.close();
  console.log(`calls ${calls} errors ${errors}`);
  console.log('done');
}

main().catch((e) => {
  console.log(`UNCODED (seed ${seed}): ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(3);
});
