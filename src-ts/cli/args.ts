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

/** `"2"` or `"2,0"`: non-negative integers separated by commas. */
export function nonNegativeList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.some((s) => s === '') || !numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new InvalidArgumentError(`expected non-negative integers separated by commas; got '${value}'`);
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
