// Compiled (not run) by types.spec.ts under strict settings: finalize() results are typed by dtype and counterDtype.
import { MaskBuilder, type MaskBuilderOptions, MaxAggregator } from '../../src-ts/index';

const geometry = { sourceExtents: [100, 100], sourceTileExtent: 10, outputTileExtent: 1, stride: 10 };

// Defaults: float32 mask, uint16 counter.
const plain = new MaskBuilder(geometry).finalize();
const f32: Float32Array = plain.mask.data;
const u16: Uint16Array = plain.overlapCounter.data;
const f32Name: 'float32' = plain.mask.dtype;
// @ts-expect-error the default mask is not float64
const notF64: Float64Array = plain.mask.data;

// Inline options fix the types.
const wide = new MaskBuilder({ ...geometry, dtype: 'float64', counterDtype: 'uint32' }).finalize();
const f64: Float64Array = wide.mask.data;
const u32: Uint32Array = wide.overlapCounter.data;
const u32Name: 'uint32' = wide.overlapCounter.dtype;
// @ts-expect-error a float64 mask is not float32
const notF32: Float32Array = wide.mask.data;

// An options object declared before the call, with satisfies instead of `as const`.
const options = { ...geometry, dtype: 'float64', aggregation: 'max' } satisfies MaskBuilderOptions;
const max = new MaskBuilder(options);
const maxData: Float64Array = max.finalize().data;
const maxDtype: 'float64' = max.dtype;
const storage: Float64Array = max.storage.data;

// Class aggregations too.
const byClass = new MaskBuilder({ ...geometry, aggregation: MaxAggregator, dtype: 'float64' }).finalize();
const classData: Float64Array = byClass.data;

// An options object typed as MaskBuilderOptions leaves the union, honestly.
const loose: MaskBuilderOptions = { ...geometry };
const either: Float32Array | Float64Array = new MaskBuilder(loose).storage.data;

export { byClass, classData, either, f32, f32Name, f64, maxData, maxDtype, notF32, notF64, storage, u16, u32, u32Name };
