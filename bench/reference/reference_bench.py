"""Runs one benchmark workload once with the reference implementation
(ratiopath's MaskBuilder) and prints a JSON line, like bench/workload.mjs.

    python reference_bench.py W1 [tiler]

With `tiler`, the peer is the-lay/tiler's numpy Merger instead (boxcar
window, i.e. the uniform mean), for the dense workloads: its Tiler cuts the
mask-space array into the workload's mask-space tiles in the same row-major
order as the batches, and Merger.add_batch/merge assemble them.

ratiopath is installed with --no-deps (bench/run.mjs makes the virtual
environment); only its mask_builders package is imported, without running
ratiopath.masks/__init__.py (which pulls in pyvips, openslide and more).
If ratiopath cannot be imported, numpy code doing exactly its per-tile
operations runs instead, and the output says so.
"""

import importlib.util
import json
import os
import resource
import sys
import time
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load_reference():
    spec = importlib.util.find_spec("ratiopath")
    if spec is None or not spec.submodule_search_locations:
        return None
    masks = types.ModuleType("ratiopath.masks")
    masks.__path__ = [os.path.join(p, "masks") for p in spec.submodule_search_locations]
    sys.modules["ratiopath.masks"] = masks
    from ratiopath.masks.mask_builders import MaskBuilder, MaxAggregator, MeanAggregator

    return MaskBuilder, MeanAggregator, MaxAggregator


def ratiopath_version():
    try:
        from importlib.metadata import version

        return version("ratiopath")
    except Exception:
        return None


class PerTileNumpy:
    """The reference's per-tile operations, for when ratiopath is missing."""

    def __init__(self, source, tile, output, stride, channels, mean, memmap):
        source = np.asarray(source)
        self.stride = np.asarray([stride] * 2)
        num = np.ceil(np.maximum(0, source - tile) / stride).astype(np.int64) + 1
        span = (num - 1) * stride + tile
        g = np.gcd(tile, stride * output)
        self.mask_extents = span * output // g
        self.mask_stride = self.stride * output // g
        self.upscale = np.asarray([tile // g] * 2)
        self.output = output
        shape = (channels, *self.mask_extents)
        if memmap:
            import tempfile

            self.tmp = tempfile.NamedTemporaryFile(delete=False)
            self.acc = np.lib.format.open_memmap(self.tmp.name, mode="w+", shape=shape, dtype=np.float32, version=(3, 0))
        else:
            self.acc = np.zeros(shape, np.float32)
        self.mean = mean
        if mean:
            self.counter = np.zeros((1, *self.mask_extents), np.uint16)

    def update_batch(self, batch, coords):
        coords = (coords // self.stride) * self.mask_stride
        missing = 4 - batch.ndim
        batch = np.broadcast_to(batch[(...,) + (np.newaxis,) * missing], (*batch.shape[:2], self.output, self.output))
        for axis, factor in enumerate(self.upscale, start=2):
            if factor > 1:
                batch = np.repeat(batch, factor, axis=axis)
        for sample, (y, x) in zip(batch, coords):
            sl = (slice(None), slice(y, y + sample.shape[1]), slice(x, x + sample.shape[2]))
            if self.mean:
                self.acc[sl] += sample
                self.counter[sl] += 1
            else:
                self.acc[sl] = np.maximum(self.acc[sl], sample)

    def finalize(self):
        if self.mean:
            self.acc /= self.counter.clip(min=1)
        return self.acc

    def cleanup(self):
        if hasattr(self, "tmp"):
            os.unlink(self.tmp.name)


def tiler_version():
    try:
        from importlib.metadata import version

        return version("tiler")
    except Exception:
        return None


class TilerMerger:
    """the-lay/tiler's Merger on the workload, in mask space (boxcar window = mean)."""

    def __init__(self, source, tile, output, stride, channels):
        from tiler import Merger, Tiler

        num = [int(np.ceil(max(0, s - tile) / stride)) + 1 for s in source]
        g = int(np.gcd(tile, stride * output))
        mask_tile = output * tile // g
        mask_stride = stride * output // g
        mask_extents = [(n - 1) * mask_stride + mask_tile for n in num]
        self.channels = channels
        self.tiler = Tiler(
            data_shape=(channels, *mask_extents),
            tile_shape=(channels, mask_tile, mask_tile),
            overlap=(0, mask_tile - mask_stride, mask_tile - mask_stride),
            channel_dimension=0,
        )
        assert len(self.tiler) == num[0] * num[1], "tiler's grid must match the workload's"
        # Visits are not kept: the peer does only what the mean needs.
        self.merger = Merger(self.tiler, window="boxcar", save_visits=False, data_dtype=np.float32)
        self.batch = 0

    def update_batch(self, batch, coords):
        self.merger.add_batch(self.batch, self.batch_size, batch)
        self.batch += 1

    def finalize(self):
        return self.merger.merge(unpad=True, dtype=np.float32)

    def cleanup(self):
        pass


def main():
    name = sys.argv[1]
    peer = sys.argv[2] if len(sys.argv) > 2 else "reference"
    with open(os.path.join(HERE, "..", "workloads.json")) as f:
        w = json.load(f)[name]
    source = w["sourceExtents"]
    grid = [int(np.ceil(max(0, s - w["tile"]) / w["stride"])) + 1 for s in source]
    tiles = grid[0] * grid[1]
    scalar = w["output"] == 1
    tile_shape = (w["channels"],) if scalar else (w["channels"], w["output"], w["output"])
    per_tile = int(np.prod(tile_shape))
    pool = []
    for p in range(1):
        i = np.arange(w["batch"] * per_tile, dtype=np.int64)
        values = ((i * 7919 + p * 104729) % 1000) / 1000 - (0.5 if w["aggregation"] == "max" else 0)
        pool.append(values.astype(np.float32).reshape(w["batch"], *tile_shape))
    batches = []
    for start in range(0, tiles, w["batch"]):
        b = min(w["batch"], tiles - start)
        t = np.arange(start, start + b)
        coords = np.stack([(t // grid[1]) * w["stride"], (t % grid[1]) * w["stride"]], axis=1).astype(np.int64)
        batches.append((pool[len(batches) % len(pool)][:b], coords))

    reference = load_reference() if peer == "reference" else None
    mean = w["aggregation"] == "mean"
    if peer == "tiler":
        import tiler  # noqa: F401  (imported before timing, like ratiopath)

        if scalar or not mean:
            raise SystemExit("tiler's Merger is a peer for dense mean workloads only")
    c0 = time.process_time()
    t0 = time.perf_counter()
    if peer == "tiler":
        builder = TilerMerger(source, w["tile"], w["output"], w["stride"], w["channels"])
        builder.batch_size = w["batch"]
    elif reference is not None:
        MaskBuilder, MeanAggregator, MaxAggregator = reference
        builder = MaskBuilder(
            source_extents=tuple(source),
            source_tile_extent=w["tile"],
            output_tile_extent=w["output"],
            stride=w["stride"],
            n_channels=w["channels"],
            storage=w["storage"],
            aggregation=MeanAggregator if mean else MaxAggregator,
            dtype=np.float32,
        )
    else:
        builder = PerTileNumpy(source, w["tile"], w["output"], w["stride"], w["channels"], mean, w["storage"] == "memmap")
    t1 = time.perf_counter()
    for batch, coords in batches:
        builder.update_batch(batch, coords)
    builder.finalize()
    t2 = time.perf_counter()
    c2 = time.process_time()
    builder.cleanup()
    print(
        json.dumps(
            {
                "workload": name,
                "impl": "tiler" if peer == "tiler" else "reference" if reference is not None else "reference-numpy",
                "tiles": tiles,
                "constructSeconds": t1 - t0,
                "seconds": t2 - t0,
                "cpuSeconds": c2 - c0,
                "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "python": sys.version.split()[0],
                "ratiopath": ratiopath_version(),
                "tiler": tiler_version() if peer == "tiler" else None,
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
