// Compiled (not run) by types.spec.ts under strict settings: onnxruntime tensors are accepted by updateBatch.
import { Tensor, type TypedTensor } from 'onnxruntime-common';
import { MaskBuilder } from '../../src-ts/index';

declare const outputs: Record<string, Tensor>;
declare const typed: TypedTensor<'float32'>;

const builder = new MaskBuilder({ sourceExtents: [1000, 1000], sourceTileExtent: 256, outputTileExtent: 1, stride: 256 });
const coords = builder.tileOrigins();

// What `session.run()` returns: ort.Tensor, whose data union includes string[].
builder.updateBatch(outputs.probabilities, coords);
void builder.updateBatchAsync(outputs.probabilities, coords, 0, { transfer: false });
builder.updateBatch(typed, coords);
builder.updateBatch(new Tensor('float32', new Float32Array(4), [4, 1]), coords);

// Plain batches stay checked: data must be a float array.
// @ts-expect-error a number[] is not a Float32Array
builder.updateBatch({ data: [0.5], shape: [1, 1] }, coords);
