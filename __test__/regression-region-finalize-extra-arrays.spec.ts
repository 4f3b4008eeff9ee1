// Regression: a region builder's weight sum, variances and reductions cover
// the region it holds (they were shaped, or sized, for the whole mask), on
// both backends, and equal the whole build's values inside the region.
import { BACKENDS, seededBuilder } from './helpers/robust';

const region = { start: [4, 8], extent: [8, 12] };

/** The window `region` of a `[C, 16, 24]` array, flattened. */
function windowOf(data: ArrayLike<number>, channels: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < region.extent[0]; y++) {
      for (let x = 0; x < region.extent[1]; x++) {
        out.push(data[c * 16 * 24 + (region.start[0] + y) * 24 + region.start[1] + x]);
      }
    }
  }
  return out;
}

describe.each(BACKENDS)('%s backend', (backend) => {
  test.each([
    ['weighted mean', { weights: 'hann' }, 'weightSum', 1],
    ['variance', { aggregation: 'variance' }, 'variance', 2],
  ] as const)('%s: the extra array covers the region', (_name, extra, key, channels) => {
    const whole = seededBuilder(backend, extra as any).finalize() as any;
    const shard = seededBuilder(backend, { ...extra, region } as any).finalize() as any;
    expect(shard[key].shape).toEqual([channels, ...region.extent]);
    expect(Array.from(shard[key].data)).toEqual(windowOf(whole[key].data, channels));
  });

  test.each([
    ['threshold', { threshold: 0.5 }, 2],
    ['quantize', { quantize: 'uint8' }, 2],
  ] as const)('%s: the reduction covers the region', (_name, request, channels) => {
    const whole = seededBuilder(backend).finalize(request as any) as any;
    const shard = seededBuilder(backend, { region }).finalize(request as any) as any;
    expect(shard.shape).toEqual([channels, ...region.extent]);
    expect(Array.from(shard.data)).toEqual(windowOf(whole.data, channels));
  });

  test('argmax: labels and confidence cover the region', () => {
    const whole = seededBuilder(backend).finalize({ argmax: true }) as any;
    const shard = seededBuilder(backend, { region }).finalize({ argmax: true }) as any;
    expect(shard.labels.shape).toEqual([1, ...region.extent]);
    expect(Array.from(shard.labels.data)).toEqual(windowOf(whole.labels.data, 1));
    expect(Array.from(shard.confidence.data)).toEqual(windowOf(whole.confidence.data, 1));
  });
});
