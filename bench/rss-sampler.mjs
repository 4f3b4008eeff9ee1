// Samples this process's resident memory from a worker thread, so that peaks
// during long synchronous native calls (finalize) are seen too.
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

function readStatus() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { anon: field('RssAnon'), file: field('RssFile'), hwm: field('VmHWM') };
}

if (!isMainThread) {
  let peakAnon = 0;
  let peakFile = 0;
  const timer = setInterval(() => {
    const s = readStatus();
    peakAnon = Math.max(peakAnon, s.anon);
    peakFile = Math.max(peakFile, s.file);
  }, 10);
  parentPort.on('message', () => {
    clearInterval(timer);
    const s = readStatus();
    parentPort.postMessage({ peakAnon: Math.max(peakAnon, s.anon), peakFile: Math.max(peakFile, s.file), hwm: s.hwm });
  });
}

/** Starts sampling; `stop()` resolves to the peaks in bytes. Linux only (reads /proc). */
export function startRssSampler() {
  const worker = new Worker(new URL(import.meta.url));
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (peaks) => {
          worker.terminate();
          resolve(peaks);
        });
        worker.postMessage('stop');
      }),
  };
}
