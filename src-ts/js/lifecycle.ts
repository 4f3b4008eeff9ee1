/**
 * The JS backend's lifecycle: the same state machine as the Rust core's
 * `MaskBuilder` (crates/core/src/mask_builder.rs), with the same messages.
 */

import { ErrorCode, stateError } from '../errors';

/** Where a builder is in its life: `'building'`, `'finalized'` or `'cleanedUp'`. */
export type LifecycleState = 'building' | 'finalized' | 'cleanedUp';

export class Lifecycle<R> {
  #state: LifecycleState = 'building';
  #result: R | undefined;

  get state(): LifecycleState {
    return this.#state;
  }

  /** Throws unless usable (not cleaned up) and, with `building`, still accepting batches. */
  check(call: string, building: boolean): void {
    if (this.#state === 'cleanedUp') {
      throw stateError(ErrorCode.CLEANED_UP, `${call} after cleanup(): the mask builder was cleaned up; create a new one`);
    }
    if (building && this.#state === 'finalized') {
      throw stateError(ErrorCode.FINALIZED, `${call} after finalize(): the mask is already finalized`);
    }
  }

  /** Runs `finish` once; later calls return its result again. */
  finalize(finish: () => R): R {
    this.check('finalize', false);
    if (this.#state === 'building') {
      this.#result = finish();
      this.#state = 'finalized';
    }
    return this.#result as R;
  }

  /** Runs `release` once; later calls do nothing. */
  cleanup(release: () => void): void {
    if (this.#state === 'cleanedUp') return;
    this.#state = 'cleanedUp';
    this.#result = undefined;
    release();
  }
}
