// Reads the directory entries of a little-endian classic TIFF: enough to check tiling and pyramid levels.

export interface TiffDirectory {
  /** Tag number -> first value (SHORT or LONG). */
  tags: Map<number, number>;
}

export const TAG = { ImageWidth: 256, ImageLength: 257, NewSubfileType: 254, TileWidth: 322, TileLength: 323 } as const;

export function tiffDirectories(bytes: Buffer): TiffDirectory[] {
  if (bytes.toString('latin1', 0, 2) !== 'II' || bytes.readUInt16LE(2) !== 42)
    throw new Error('not a little-endian classic TIFF');
  const directories: TiffDirectory[] = [];
  let offset = bytes.readUInt32LE(4);
  while (offset !== 0 && directories.length < 64) {
    const count = bytes.readUInt16LE(offset);
    const tags = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      const entry = offset + 2 + i * 12;
      const type = bytes.readUInt16LE(entry + 2);
      // SHORT (3) or LONG (4) values stored in the entry itself.
      if (type === 3) tags.set(bytes.readUInt16LE(entry), bytes.readUInt16LE(entry + 8));
      if (type === 4) tags.set(bytes.readUInt16LE(entry), bytes.readUInt32LE(entry + 8));
    }
    directories.push({ tags });
    offset = bytes.readUInt32LE(offset + 2 + count * 12);
  }
  return directories;
}
