// Without sharp installed, encoding fails with one clear error; coloring and blending still work.
import { ErrorCode } from '../src-ts/errors';

test('toImage and writeImage reject with ERR_WSI_SHARP_MISSING when sharp cannot be loaded', async () => {
  jest.resetModules();
  jest.doMock('sharp', () => {
    throw Object.assign(new Error("Cannot find module 'sharp'"), { code: 'MODULE_NOT_FOUND' });
  });
  const image = require('../src-ts/image') as typeof import('../src-ts/image');
  const mask = { data: new Float32Array(4), shape: [2, 2] };
  const expected = { code: ErrorCode.SHARP_MISSING, message: expect.stringMatching(/npm install sharp/) };
  await expect(image.toImage(mask, { filename: '/tmp/never-written.png' })).rejects.toMatchObject(expected);
  await expect(image.writeImage(image.colorize(mask))).rejects.toMatchObject(expected);
  expect(image.colorize(mask).shape).toEqual([2, 2, 3]);
  jest.dontMock('sharp');
});
