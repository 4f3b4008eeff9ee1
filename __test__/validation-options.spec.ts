// Every bad option gets a TypeError or RangeError with a stable code at the
// constructor, the same on both backends.
import { MaskBuilder } from '../src-ts/index';
import { BAD_OPTIONS } from './helpers/bad-inputs';
import { BACKENDS, BASE_OPTIONS, captureWarnings, expectError, thrownBy } from './helpers/robust';

describe.each(BACKENDS)('bad options (%s backend)', (backend) => {
  test.each(BAD_OPTIONS.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    const options = c.whole ? c.options : { ...BASE_OPTIONS, backend, ...(c.options as object) };
    expectError(
      thrownBy(() => new MaskBuilder(options as any)),
      c.expected,
    );
  });

  test('maxInMemoryBytes exactly the mask and counter is accepted', () => {
    expect(new MaskBuilder({ ...BASE_OPTIONS, backend, maxInMemoryBytes: 3840 }).maskExtents).toEqual([16, 24]);
  });

  test('a mask far larger than the source warns with the estimated bytes', () => {
    // Tile 7 and stride 3 x output 3 share no factor: the mask is 3x the span per dimension.
    const { result, warnings } = captureWarnings(
      () =>
        new MaskBuilder({
          sourceExtents: [100, 100],
          sourceTileExtent: 7,
          outputTileExtent: 3,
          stride: 3,
          nChannels: 2,
          backend,
        }),
    );
    expect(result.maskExtents).toEqual([300, 300]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].code).toBe('WSI_MASK_INFLATED');
    // 300 * 300 pixels x (2 float32 channels + a uint16 counter).
    expect(warnings[0].message).toContain(`about ${300 * 300 * (2 * 4 + 2)} bytes`);
    expect(warnings[0].message).toContain('9.0x as many pixels');
  });

  test('an ordinary geometry does not warn', () => {
    const { warnings } = captureWarnings(
      () => new MaskBuilder({ sourceExtents: [4096, 4096], sourceTileExtent: 512, outputTileExtent: 1, stride: 256, backend }),
    );
    expect(warnings).toEqual([]);
  });
});
