// The declarations as a strict TypeScript consumer sees them: onnxruntime tensors go into updateBatch (types from
// onnxruntime-common, a dev dependency only), and finalize() is typed by dtype and counterDtype. Each file under
// __test__/types compiles with no diagnostics; its @ts-expect-error lines must each be an error.
import { join } from 'node:path';
import ts from 'typescript';

const files = ['ort-tensor.ts', 'finalize-dtype.ts'].map((f) => join(__dirname, 'types', f));

function diagnostics(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['node'],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

test.each([
  ['updateBatch accepts onnxruntime tensors (ort.Tensor, TypedTensor, new Tensor)', files[0]],
  ['finalize() results are typed by dtype and counterDtype, inline or with satisfies', files[1]],
])('%s', (_name, file) => {
  expect(diagnostics(file)).toEqual([]);
});

test('onnxruntime-common is a dev dependency only', () => {
  const pkg = require('../package.json');
  expect(pkg.devDependencies['onnxruntime-common']).toBeDefined();
  expect(pkg.dependencies?.['onnxruntime-common']).toBeUndefined();
  expect(pkg.optionalDependencies?.['onnxruntime-common']).toBeUndefined();
});

test.each(['native', 'js'] as const)('an onnxruntime-common Tensor goes through updateBatch at run time (%s)', (backend) => {
  const { Tensor } = require('onnxruntime-common');
  const { MaskBuilder } = require('../src-ts/index');
  const b = new MaskBuilder({ sourceExtents: [20, 20], sourceTileExtent: 10, outputTileExtent: 1, stride: 10, backend });
  expect(() => b.updateBatch(new Tensor('float16', new Uint16Array(4), [4, 1]), b.tileOrigins())).toThrow(/float16 tensor/);
  b.updateBatch(new Tensor('float32', Float32Array.of(1, 2, 3, 4), [4, 1]), b.tileOrigins());
  expect(Array.from(b.finalize().mask.data)).toEqual([1, 2, 3, 4]);
  b.cleanup();
});
