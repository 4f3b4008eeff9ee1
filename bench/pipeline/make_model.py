"""Builds the bench's tile model: a small convolutional network in ONNX.

Input [N, 3, 128, 128] float32 (RGB in [0, 1]), output [N, 2, 32, 32]
float32: two "class" probabilities at a quarter of the tile's resolution,
the shape of a segmentation head. Weights come from a fixed seed; what the
model predicts does not matter to the bench, only that it costs what a real
one of its size costs.

    python make_model.py OUT.onnx
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261201)


def weights(name, *shape):
    fan_in = int(np.prod(shape[1:]))
    return numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name)


def conv(name, x, w, b, out):
    return helper.make_node("Conv", [x, w, b], [out], name=name, kernel_shape=[3, 3], pads=[1, 1, 1, 1])


initializers = [
    weights("w1", 16, 3, 3, 3),
    numpy_helper.from_array(np.zeros(16, np.float32), "b1"),
    weights("w2", 16, 16, 3, 3),
    numpy_helper.from_array(np.zeros(16, np.float32), "b2"),
    weights("w3", 2, 16, 3, 3),
    numpy_helper.from_array(np.zeros(2, np.float32), "b3"),
]
nodes = [
    conv("conv1", "tiles", "w1", "b1", "c1"),
    helper.make_node("Relu", ["c1"], ["r1"]),
    helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
    conv("conv2", "p1", "w2", "b2", "c2"),
    helper.make_node("Relu", ["c2"], ["r2"]),
    helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
    conv("conv3", "p2", "w3", "b3", "c3"),
    helper.make_node("Sigmoid", ["c3"], ["probabilities"]),
]
graph = helper.make_graph(
    nodes,
    "tile-model",
    [helper.make_tensor_value_info("tiles", TensorProto.FLOAT, ["N", 3, 128, 128])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2, 32, 32])],
    initializers,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="wsi-mask-builder bench")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
