# The numpy oracle of the exports' multiscale levels: each level halves the
# one above (rounding up), by the mean of the pixels present in each 2x2
# block (float masks, summed in float64, stored float32) or by taking the
# top-left pixel (uint8/uint16 labels); until the level fits one chunk.
import numpy as np


def halve(a, label):
    if label:
        return a[::2, ::2]
    h, w = a.shape
    H, W = -(-h // 2), -(-w // 2)
    padded = np.zeros((2 * H, 2 * W), np.float64)
    padded[:h, :w] = a
    present = np.zeros((2 * H, 2 * W), np.float64)
    present[:h, :w] = 1
    total = padded.reshape(H, 2, W, 2).sum(axis=(1, 3))
    count = present.reshape(H, 2, W, 2).sum(axis=(1, 3))
    return (total / count).astype(np.float32)


def levels(plane, chunk, label):
    out = [plane.astype(np.float32) if not label else plane]
    while out[-1].shape[0] > chunk[0] or out[-1].shape[1] > chunk[1]:
        out.append(halve(out[-1], label))
    return out


def expected(mask, chunk):
    """mask [C, H, W] -> list of [C, H_k, W_k] levels."""
    label = mask.dtype.kind == 'u'
    per_channel = [levels(mask[c], chunk, label) for c in range(mask.shape[0])]
    return [np.stack([ch[k] for ch in per_channel]) for k in range(len(per_channel[0]))]
