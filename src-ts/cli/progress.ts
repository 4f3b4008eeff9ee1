/** A progress bar of tiles with tiles/s and ETA on a terminal; nothing otherwise. */

import { Presets, SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function tileProgress(total: number, show: boolean): Progress {
  if (!show) return { update() {}, stop() {} };
  const started = performance.now();
  const bar = new SingleBar(
    {
      format: '{bar} {percentage}% | {value}/{total} tiles | {rate} tiles/s | ETA {eta_formatted}',
      stream: process.stderr,
      // Also draw (line by line) when forced with --progress on a non-terminal.
      noTTYOutput: true,
      notTTYSchedule: 1000,
      etaBuffer: 50,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { rate: '0' });
  return {
    update(done) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? (done / seconds).toFixed(0) : '0' });
    },
    stop() {
      bar.stop();
    },
  };
}
