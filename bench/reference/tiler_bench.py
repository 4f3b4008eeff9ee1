"""Runs one weighted benchmark workload once with tiler's numpy Merger (the
peer with window weighting) and prints a JSON line, like bench/workload.mjs.

    python tiler_bench.py W7

The workload's tiles (same values as bench/workload.mjs makes) are added one
by one with Merger.add, then merged; both are timed, as our builder's updates
and finalize are. tiler uses the symmetric scipy windows, which our
`{ type, symmetric: true }` matches.
"""

import json
import os
import resource
import sys
import time
from importlib.metadata import version

import numpy as np
from tiler import Merger, Tiler

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    name = sys.argv[1]
    with open(os.path.join(HERE, "..", "workloads.json")) as f:
        w = json.load(f)[name]
    if w["output"] != w["tile"]:
        raise SystemExit(f"{name}: tiler merges tiles at their input size; output must equal tile")
    source = w["sourceExtents"]
    channels, tile, stride = w["channels"], w["tile"], w["stride"]
    per_tile = channels * tile * tile
    i = np.arange(w["batch"] * per_tile, dtype=np.int64)
    pool = (((i * 7919) % 1000) / 1000).astype(np.float32).reshape(w["batch"], channels, tile, tile)

    c0 = time.process_time()
    t0 = time.perf_counter()
    tiler = Tiler(
        data_shape=(channels, *source),
        tile_shape=(channels, tile, tile),
        overlap=(0, tile - stride, tile - stride),
        channel_dimension=0,
    )
    merger = Merger(tiler, window=w["weights"]["type"])
    t1 = time.perf_counter()
    for t in range(len(tiler)):
        merger.add(t, pool[t % w["batch"]])
    merger.merge(unpad=True)
    t2 = time.perf_counter()
    c2 = time.process_time()
    print(
        json.dumps(
            {
                "workload": name,
                "impl": "tiler",
                "tiles": len(tiler),
                "constructSeconds": t1 - t0,
                "seconds": t2 - t0,
                "cpuSeconds": c2 - c0,
                "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "python": sys.version.split()[0],
                "tiler": version("tiler"),
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
