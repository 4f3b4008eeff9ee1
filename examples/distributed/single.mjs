// The same slide's mask built in one process, for comparison:
//   node examples/distributed/single.mjs <HxW> <out.npy>
import { writeNpy } from 'wsi-mask-builder';
import { buildInOneProcess } from './jobs.mjs';

const [size, out] = process.argv.slice(2);
const builder = buildInOneProcess(size.split('x').map(Number));
writeNpy(out, builder.finalize().mask);
builder.cleanup();
