/** Parsers for command-line option values; a bad value is one clear line from commander. */

import { InvalidArgumentError } from 'commander';

/** `"512"` or `"512,384"`: positive integers separated by commas. */
export function positiveList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.some((s) => s === '') || !numbers.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new InvalidArgumentError(`expected positive integers separated by commas (e.g. 512 or 1000,800); got '${value}'`);
  }
  return numbers;
}

export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`expected a non-negative integer; got '${value}'`);
  }
  return n;
}

export function positiveInteger(value: string): number {
  const n = nonNegativeInteger(value);
  if (n === 0) throw new InvalidArgumentError(`expected a positive integer; got '${value}'`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`expected a non-negative number; got '${value}'`);
  }
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive number; got '${value}'`);
  return n;
}

/** `"0,1"`: two finite numbers, low < high. */
export function range(value: string): [number, number] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0] < parts[1])) {
    throw new InvalidArgumentError(`expected low,high with low < high (e.g. 0,1); got '${value}'`);
  }
  return [parts[0], parts[1]];
}

/** `value` spread to `n` entries when it has one. */
export function perDimension(name: string, values: number[], n: number): number[] {
  if (values.length === 1) return new Array(n).fill(values[0]);
  if (values.length !== n) {
    throw new Error(`${name} needs 1 or ${n} values (one per dimension of --source); got ${values.length}`);
  }
  return values;
}

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number; got '${value}'`);
  return n;
}

/** One `--clip` entry: pixels at both edges, or `[start, end]`. */
export type ClipEntry = number | [number, number];

/**
 * `--clip`, read as the API's `edgeClipping`: `N` (every edge), `Y,X` (per
 * dimension, both edges), `START:END` (every dimension) or `Y0:Y1,X0:X1`
 * (per dimension); entries may mix the two forms.
 */
export function clipList(value: string): ClipEntry[] {
  const entries = value.split(',').map((part) => {
    const pieces = part.split(':').map((s) => s.trim());
    const numbers = pieces.map(Number);
    if (pieces.length > 2 || pieces.some((s) => s === '') || !numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      return undefined;
    }
    return pieces.length === 1 ? numbers[0] : ([numbers[0], numbers[1]] as [number, number]);
  });
  if (entries.some((e) => e === undefined)) {
    throw new InvalidArgumentError(
      `expected N, Y,X (per dimension), START:END or Y0:Y1,X0:X1 with non-negative integers; got '${value}'`,
    );
  }
  return entries as ClipEntry[];
}

/** `--clip` entries as `edgeClipping` for `ndim` dimensions: one entry applies to every dimension. */
export function edgeClipping(entries: ClipEntry[] | undefined, ndim: number): number | ClipEntry[] {
  if (entries === undefined) return 0;
  if (entries.length === 1) return typeof entries[0] === 'number' ? entries[0] : new Array(ndim).fill(entries[0]);
  if (entries.length !== ndim) {
    throw new Error(
      `--clip takes 1 entry or ${ndim} (one per dimension of --source, as edgeClipping does): N, Y,X, START:END or Y0:Y1,X0:X1; got ${entries.length}`,
    );
  }
  return entries;
}
