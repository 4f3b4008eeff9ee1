// A real pipeline end to end: a small convolutional model (ONNX, built by
// bench/pipeline/make_model.py) runs in onnxruntime-node over the demo
// slide's tiles, and the probabilities are assembled through
// updateBatchAsync. Measures tiles/s with and without assembly, alternating
// the two within each round, and the share of wall time assembly adds.
//   node bench/pipeline.mjs [--rounds 5]   (npm run bench runs it too)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { synthesizeSlide } from '../demo/slide.mjs';
import { MaskBuilder } from '../dist/index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const SLIDE = [3000, 4000]; // [height, width], the demo's
const TILE = 128;
const STRIDE = 64;
const OUT = 32; // the model's output: 2 classes at a quarter of the tile's resolution
const CLASSES = 2;
const BATCH = 32;
const IN_FLIGHT = 4;
const ONNX_VERSION = '1.23.2';

/** The model file, built once with Python's onnx package in bench/.cache/onnx-venv. */
export function tileModel() {
  const cache = join(here, '.cache');
  const model = join(cache, 'tile-model.onnx');
  if (existsSync(model)) return model;
  mkdirSync(cache, { recursive: true });
  const venv = join(cache, 'onnx-venv');
  const python = join(venv, 'bin', 'python');
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed; the pipeline bench needs python3 and PyPI's onnx`);
  };
  if (!existsSync(python)) run('python3', ['-m', 'venv', venv]);
  run(python, ['-m', 'pip', 'install', '--quiet', `onnx==${ONNX_VERSION}`, 'numpy']);
  run(python, [join(here, 'pipeline', 'make_model.py'), model]);
  return model;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Tile origins over the grid the builder implies (it reaches past the slide's far edges). */
function origins(span) {
  const out = [];
  for (let y = 0; y + TILE <= span[0]; y += STRIDE) for (let x = 0; x + TILE <= span[1]; x += STRIDE) out.push([y, x]);
  return out;
}

/** Cuts the batch's tiles out of the slide as NCHW float32 in [0, 1]; background outside the slide. */
function preprocess(slide, batch, into) {
  const [height, width] = slide.shape;
  const plane = TILE * TILE;
  batch.forEach(([y, x], t) => {
    const base = t * 3 * plane;
    for (let ty = 0; ty < TILE; ty++) {
      const sy = y + ty;
      for (let tx = 0; tx < TILE; tx++) {
        const sx = x + tx;
        const inside = sy < height && sx < width;
        const i = (sy * width + sx) * 3;
        const o = base + ty * TILE + tx;
        into[o] = (inside ? slide.data[i] : 244) / 255;
        into[o + plane] = (inside ? slide.data[i + 1] : 242) / 255;
        into[o + 2 * plane] = (inside ? slide.data[i + 2] : 246) / 255;
      }
    }
  });
}

/** One pass over the slide: inference alone, or inference with assembly. */
async function pass(ort, session, slide, assemble) {
  const builder = assemble
    ? new MaskBuilder({ sourceExtents: SLIDE, sourceTileExtent: TILE, outputTileExtent: OUT, stride: STRIDE, nChannels: CLASSES })
    : null;
  const all = origins(builder?.span ?? [SLIDE[0] + STRIDE, SLIDE[1] + STRIDE].map((s, k) => s - (SLIDE[k] % STRIDE)));
  const input = new Float32Array(BATCH * 3 * TILE * TILE);
  const inFlight = [];
  const t0 = performance.now();
  for (let first = 0; first < all.length; first += BATCH) {
    const batch = all.slice(first, first + BATCH);
    const data = input.subarray(0, batch.length * 3 * TILE * TILE);
    preprocess(slide, batch, data);
    const out = await session.run({ tiles: new ort.Tensor('float32', data, [batch.length, 3, TILE, TILE]) });
    if (builder) {
      const probabilities = out.probabilities;
      const coords = { data: Int32Array.from(batch.flat()), shape: [batch.length, 2] };
      // The output tensor owns its buffer: hand it over instead of copying.
      inFlight.push(builder.updateBatchAsync(probabilities, coords, undefined, { transfer: true }));
      if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
    }
  }
  let shape = null;
  if (builder) {
    await Promise.all(inFlight);
    shape = (await builder.finalizeAsync()).mask.shape;
    builder.cleanup();
  }
  return { seconds: (performance.now() - t0) / 1000, tiles: all.length, shape };
}

export async function runPipeline(rounds) {
  const ort = require('onnxruntime-node');
  const model = tileModel();
  const threads = cpus().length;
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const slide = synthesizeSlide(...SLIDE);
  await pass(ort, session, slide, true); // warm-up: session, pages, libuv pool
  const runs = { model: [], assembled: [] };
  let tiles = 0;
  let maskShape = null;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [true, false] : [false, true];
    for (const assemble of order) {
      const result = await pass(ort, session, slide, assemble);
      tiles = result.tiles;
      maskShape ??= result.shape;
      runs[assemble ? 'assembled' : 'model'].push(result.seconds);
    }
  }
  const share = median(runs.model.map((m, k) => (runs.assembled[k] - m) / runs.assembled[k]));
  return {
    tiles,
    batch: BATCH,
    maskShape,
    onnxruntime: require('onnxruntime-node/package.json').version,
    threads,
    rounds,
    modelSeconds: median(runs.model),
    assembledSeconds: median(runs.assembled),
    modelTilesPerSecond: tiles / median(runs.model),
    assembledTilesPerSecond: tiles / median(runs.assembled),
    assemblyShare: share,
    runs,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
  const r = await runPipeline(Number(values.rounds));
  console.log(
    `pipeline: ${r.tiles} tiles of ${TILE} px, batches of ${BATCH}, onnxruntime-node ${r.onnxruntime} on ${r.threads} threads: ` +
      `${r.modelTilesPerSecond.toFixed(0)} tiles/s inference alone, ${r.assembledTilesPerSecond.toFixed(0)} tiles/s with assembly; ` +
      `assembly adds ${(r.assemblyShare * 100).toFixed(1)}% of wall time (median of ${r.rounds} rounds)`,
  );
  console.log(JSON.stringify(r));
}
