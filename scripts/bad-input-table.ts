// Writes the bad-input table of docs/bad-input.md: every bad input the robustness specs try, with
// the error it gets (class, code and the real message, taken by running the
// calls). Run: node -r ./__test__/helpers/register-ts.js scripts/bad-input-table.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BAD_EXPORTS } from '../__test__/helpers/bad-export-inputs';
import { BAD_BATCHES, BAD_COORDS, BAD_EDGE_CLIPPING, BAD_OPTIONS, type BadBatch } from '../__test__/helpers/bad-inputs';
import { BAD_PARTIALS } from '../__test__/helpers/bad-partials';
import { BASE_OPTIONS, denseBatch, diagonalCoords, seededBuilder } from '../__test__/helpers/robust';
import { scratchDir } from '../__test__/helpers/scratch';
import { MaskBuilder, openNpy, resizeToSource, tissueMask, toImage } from '../src-ts/index';
import { writeNpy } from '../src-ts/npy';

interface Row {
  what: string;
  call: string;
  error: unknown;
}

const rows: Row[] = [];

function record(what: string, call: string, run: () => unknown): void {
  try {
    run();
  } catch (error) {
    rows.push({ what, call, error });
    return;
  }
  throw new Error(`${what}: no error`);
}

async function recordAsync(what: string, call: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    rows.push({ what, call, error });
    return;
  }
  throw new Error(`${what}: no rejection`);
}

async function main(): Promise<void> {
  for (const c of BAD_OPTIONS) {
    const options = c.whole ? c.options : { ...BASE_OPTIONS, backend: 'js', ...(c.options as object) };
    record(c.what, 'new MaskBuilder', () => new MaskBuilder(options as any));
  }
  const batchRows = (table: BadBatch[]) => {
    for (const c of table) {
      record(c.what, 'updateBatch', () =>
        seededBuilder('js').updateBatch(c.batch() as any, c.coords() as any, c.edgeClipping?.() as any),
      );
    }
  };
  batchRows(BAD_BATCHES);
  batchRows(BAD_COORDS);
  batchRows(BAD_EDGE_CLIPPING);
  record('[start, end] clipping for a 1-D builder', 'updateBatch', () =>
    new MaskBuilder({ sourceExtents: [64], sourceTileExtent: 8, outputTileExtent: 8, stride: 8, backend: 'js' }).updateBatch(
      { data: new Float32Array(8), shape: [1, 1, 8] },
      [[0]],
      [1, 2],
    ),
  );

  const full = new MaskBuilder({ sourceExtents: [4, 8], sourceTileExtent: 4, outputTileExtent: 1, stride: 4, backend: 'js' });
  const stack = (n: number) =>
    [
      { data: new Float32Array(n), shape: [n, 1] },
      { data: new Int32Array(2 * n), shape: [n, 2] },
    ] as const;
  full.updateBatch(...stack(65535));
  record('uint16 overlap counter would pass 65535', 'updateBatch', () => full.updateBatch(...stack(1)));

  const finalized = seededBuilder('js');
  finalized.finalize();
  record('updateBatch after finalize', 'updateBatch', () => finalized.updateBatch(denseBatch(1), diagonalCoords(1)));
  await recordAsync('updateBatchAsync after finalize', 'updateBatchAsync', () =>
    finalized.updateBatchAsync(denseBatch(1), diagonalCoords(1)),
  );
  const cleaned = seededBuilder('js');
  cleaned.cleanup();
  record('updateBatch after cleanup', 'updateBatch', () => cleaned.updateBatch(denseBatch(1), diagonalCoords(1)));
  record('finalize after cleanup', 'finalize', () => cleaned.finalize());
  await recordAsync('finalizeAsync after cleanup', 'finalizeAsync', () => cleaned.finalizeAsync());
  record('storage after cleanup', 'storage', () => cleaned.storage);
  record('overlapCounter after cleanup', 'overlapCounter', () => cleaned.overlapCounter);
  const overtaken = seededBuilder('js');
  const pending = overtaken.finalizeAsync();
  overtaken.cleanup();
  await recordAsync('cleanup while finalizeAsync is pending', 'finalizeAsync', () => pending);
  await recordAsync('updateBatchAsync options not an object', 'updateBatchAsync', () =>
    seededBuilder('js').updateBatchAsync(denseBatch(1), diagonalCoords(1), 0, 5 as any),
  );
  await recordAsync('updateBatchAsync transfer not a boolean', 'updateBatchAsync', () =>
    seededBuilder('js').updateBatchAsync(denseBatch(1), diagonalCoords(1), 0, { transfer: 'yes' } as any),
  );
  await recordAsync('unknown updateBatchAsync option', 'updateBatchAsync', () =>
    seededBuilder('js').updateBatchAsync(denseBatch(1), diagonalCoords(1), 0, { transfr: true } as any),
  );
  await recordAsync('transfer: true with a view into a larger buffer', 'updateBatchAsync', () =>
    seededBuilder('js').updateBatchAsync({ data: new Float32Array(40).subarray(8), shape: [1, 2, 4, 4] }, diagonalCoords(1), 0, {
      transfer: true,
    }),
  );
  await recordAsync('transfer: true with a SharedArrayBuffer batch', 'updateBatchAsync', () =>
    seededBuilder('js').updateBatchAsync(
      { data: new Float32Array(new SharedArrayBuffer(2 * 16 * 4)), shape: [1, 2, 4, 4] },
      diagonalCoords(1),
      0,
      { transfer: true },
    ),
  );
  const grid = seededBuilder('js');
  record('tileOrigins batchSize 0', 'tileOrigins', () => grid.tileOrigins({ batchSize: 0 }));
  record('unknown tileOrigins option', 'tileOrigins', () => grid.tileOrigins({ tissu: {} } as any));
  record('tileOrigins tissue a nested array', 'tileOrigins', () => grid.tileOrigins({ tissue: [[1]] } as any));
  record('tileOrigins tissue an RGB thumbnail', 'tileOrigins', () =>
    grid.tileOrigins({ tissue: { data: new Uint8Array(48), shape: [4, 4, 3] } }),
  );
  record('tileOrigins tissueScale 0', 'tileOrigins', () =>
    grid.tileOrigins({ tissue: { data: new Uint8Array(16), shape: [4, 4] }, tissueScale: 0 }),
  );
  record('tileOrigins minTissueFraction above 1', 'tileOrigins', () =>
    grid.tileOrigins({ tissue: { data: new Uint8Array(16), shape: [4, 4] }, minTissueFraction: 2 }),
  );
  record('tileOrigins tissueScale without tissue', 'tileOrigins', () => grid.tileOrigins({ tissueScale: 4 }));
  record('tissueMask of a float image', 'tissueMask', () => tissueMask({ data: new Float32Array(16), shape: [4, 4] }));
  record('tissueMask shape not matching the data', 'tissueMask', () =>
    tissueMask({ data: new Uint8Array(16), shape: [4, 4, 3] }),
  );
  record('cleanup unfinished option unknown', 'cleanup', () => seededBuilder('js').cleanup({ unfinished: 'delete' } as any));
  const scratch = mkdtempSync(join(tmpdir(), 'wsi-bad-input-'));
  writeFileSync(join(scratch, 'heat.overlaps.npy'), '');
  record("memmap filename whose derived '.overlaps' counter path exists (native)", 'new MaskBuilder', () => {
    new MaskBuilder({ ...BASE_OPTIONS, storage: 'memmap', filename: join(scratch, 'heat.npy') });
  });
  rmSync(scratch, { recursive: true, force: true });
  for (const c of BAD_PARTIALS) {
    const { dir, remove } = scratchDir('bad-partial-table');
    try {
      record(c.what, c.call, () => c.run(dir, 'js'));
    } finally {
      remove();
    }
  }
  const huge = new MaskBuilder({
    sourceExtents: [40000, 40000],
    sourceTileExtent: 1,
    outputTileExtent: 1,
    stride: 1,
    backend: 'native',
    maxInMemoryBytes: 2 ** 36,
  });
  record('storage.data of a mask beyond one ArrayBuffer (native)', 'storage.data', () => huge.storage.data);
  huge.cleanup();

  const exportDir = mkdtempSync(join(tmpdir(), 'wsi-bad-export-'));
  for (const c of BAD_EXPORTS) record(c.what, c.call, () => c.run(exportDir));
  rmSync(exportDir, { recursive: true, force: true });

  // Files: each call refused before anything is written.
  const dir = mkdtempSync(join(tmpdir(), 'wsi-bad-input-'));
  const firstFileRow = rows.length;
  try {
    const four = { data: new Float32Array(4), shape: [4] };
    record('writeNpy shape holding more elements than the data', 'writeNpy', () =>
      writeNpy(join(dir, 'a.npy'), { ...four, shape: [100] }),
    );
    record('writeNpy negative extent', 'writeNpy', () => writeNpy(join(dir, 'a.npy'), { ...four, shape: [-4] }));
    record('writeNpy shape missing', 'writeNpy', () => writeNpy(join(dir, 'a.npy'), { data: four.data } as any));
    record('writeNpy data not a typed array', 'writeNpy', () =>
      writeNpy(join(dir, 'a.npy'), { data: [1, 2], shape: [2] } as any),
    );
    const image = { data: Float32Array.of(0, 1, 2, 3), shape: [1, 2, 2] };
    const geometry = { sourceExtents: [4, 4], maskExtents: [2, 2] };
    writeFileSync(join(dir, 'exists.npy'), 'x');
    record('resizeToSource filename that exists', 'resizeToSource', () =>
      resizeToSource(image, geometry, { filename: join(dir, 'exists.npy') }),
    );
    record('resizeToSource overwrite not a boolean', 'resizeToSource', () =>
      resizeToSource(image, geometry, { filename: join(dir, 'b.npy'), overwrite: 'yes' as any }),
    );
    const mapped = new MaskBuilder({ ...BASE_OPTIONS, backend: 'native', storage: 'memmap', filename: join(dir, 'm.npy') });
    record('resizeToSource onto a file this process maps', 'resizeToSource', () =>
      resizeToSource(image, geometry, { filename: join(dir, 'm.npy'), overwrite: true }),
    );
    mapped.cleanup();
    record('openNpy maxViewBytes 0', 'openNpy', () => openNpy(join(dir, 'm.npy'), { maxViewBytes: 0 }));
    spawnSync('mkfifo', [join(dir, 'pipe.npy')]);
    record('openNpy of a FIFO', 'openNpy', () => openNpy(join(dir, 'pipe.npy')));
    const dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }";
    const fortran = Buffer.alloc(Math.ceil((10 + dict.length + 1) / 64) * 64, 0x20);
    fortran.write('\x93NUMPY\x01\x00', 0, 'latin1');
    fortran.writeUInt16LE(fortran.length - 10, 8);
    fortran.write(dict, 10, 'latin1');
    fortran[fortran.length - 1] = 0x0a;
    writeFileSync(join(dir, 'f.npy'), Buffer.concat([fortran, Buffer.alloc(8)]));
    record('openNpy of a Fortran-order file', 'openNpy', () => openNpy(join(dir, 'f.npy')));
    mkdirSync(join(dir, 'images'));
    await recordAsync('toImage filename a directory', 'toImage', () => toImage(image, { filename: join(dir, 'images') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The same paths on every run.
  for (const row of rows.slice(firstFileRow)) {
    const e = row.error as Error;
    e.message = e.message.split(dir).join('/data');
  }

  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '## Bad input and what it gets',
    '',
    "Every input below is tried by the test suite on both backends (`backend: 'native'` and `'js'`), which",
    'answer with the same error class, `code` and message. A refused call changes nothing: storage and overlap',
    'counter are bit-identical to before (asserted for every row that reaches a builder), and from',
    "`updateBatchAsync` the same error arrives as a rejection of that call's promise only.",
    '',
    'Batches and coordinates in the examples are for a 2-D float32 mean builder with 2 channels and',
    '`outputTileExtent` 4 (`sourceExtents [32, 48]`, `sourceTileExtent` 8, `stride` 4; mask [16, 24]).',
    'Lifecycle errors are plain `Error`s with a `code`. Partial rows save seeded builders of those options',
    '(`savePartial`) and damage or mismatch one of them; paths are shortened to `<dir>`.',
    '',
    '| Input | Call | Error | Code | Message |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(({ what, call, error }) => {
      const e = error as Error & { code?: string };
      // Paths of the scratch directories are the machine's, not the message's.
      const message = e.message
        .replaceAll(/\/[^ ]*wsi-bad-input-[^/]*\//g, '')
        .replace(/\/tmp\/wsi-bad-partial-table-[^/\s]+/g, '<dir>');
      return `| ${cell(what)} | \`${call}\` | ${e.name} | \`${e.code}\` | ${cell(message)} |`;
    }),
    '',
    '### Not errors',
    '',
    '- **NaN and infinite tile values** are data. Mean sums them, so NaN or ±Infinity in any overlapping tile',
    '  makes the pixel NaN or ±Infinity (+Infinity with -Infinity gives NaN); the counter counts those tiles.',
    '  Max keeps a NaN once it lands, before or after other values (numpy `maximum`), and +Infinity wins.',
    '  Max starts every pixel at -Infinity ("no tile reached") and turns what is still -Infinity into 0 at',
    '  `finalize()`, so a pixel whose only values were -Infinity reads 0 afterwards (-Infinity before).',
    '- **Off-grid coordinates** floor to the stride grid, as in the reference.',
    '- **A geometry whose mask is far larger than the source** (tile and stride × output tile share little',
    '  common factor) builds, with a `WSI_MASK_INFLATED` process warning giving the ratio and the estimated',
    '  bytes of accumulator and counter.',
    '- **An empty batch** (B = 0) writes nothing.',
    '- **A batch or coordinates in a SharedArrayBuffer** are copied when the call is made (a snapshot: another',
    '  thread writing meanwhile changes nothing the update reads); only `transfer: true` refuses them.',
    "- **Typed arrays from another realm** (a `vm` context, jest's sandbox) are accepted like local ones.",
    '- **`cleanup()` before `finalize()` of a persisted memmap mask** keeps the file of raw values, warns',
    "  (`WSI_MASK_UNFINISHED`) and writes `<filename>.json` with `finished: false`; `cleanup({ unfinished: 'remove' })`",
    '  deletes the files instead.',
    '- **Calls after `cleanup()`** that only read geometry (`maskExtents`, `pending`, ...) still answer;',
    '  `cleanup()` twice does nothing. Arrays obtained before `cleanup()` keep their values (js backend) or',
    '  read as empty, length 0 (native backend: the views are detached and the memory released).',
    '- **`cleanup()` with updates pending** waits for them; their promises resolve.',
    '- **Reusing or transferring a batch buffer** right after `updateBatchAsync` returns is safe: the batch',
    '  was copied. With `{ transfer: true }` the builder takes the ArrayBuffer instead (no copy; `batch.data`',
    "  must span all of it) once the batch passes validation, and the caller's view reads as empty. A batch in",
    '  a pinned buffer from `allocateBatch()` is read in place; transferring or dropping that buffer mid-update',
    '  cannot free the memory the update reads.',
    '- **A panic in the native code** (a bug) becomes an error (`ERR_WSI_INTERNAL` from asynchronous updates),',
    '  never an abort.',
    '',
  ];
  // The table lives in docs/bad-input.md (the README links it), between these markers.
  const readme = join(__dirname, '..', 'docs', 'bad-input.md');
  const text = readFileSync(readme, 'utf8');
  const [start, end] = ['<!-- bad-input:start -->', '<!-- bad-input:end -->'];
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/bad-input.md lacks the ${start} ... ${end} markers`);
  writeFileSync(readme, `${text.slice(0, from + start.length)}\n${lines.join('\n')}\n${text.slice(to)}`);
  console.log(`docs/bad-input.md: bad-input table with ${rows.length} rows`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
