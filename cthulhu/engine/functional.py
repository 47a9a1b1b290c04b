"""Lump (Keras ``Model``): a model defined by its input and output tensors.

Calling layers on symbolic tensors records nodes (layer calls); a Lump walks those nodes
back from its outputs to its inputs once, and traces them in that order whenever a graph is
compiled. A Lump is itself a layer: calling it on tensors nests it in another model.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu import backend as K
from cthulhu.engine.model_utils import find_layer, print_summary
from cthulhu.engine.training import TrainableModel
from cthulhu.layers.base import InputLayer, Layer, Node
from cthulhu.saving import model_config
from cthulhu.saving.model_methods import SavingMixin


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _producer(tensor: K.Tensor) -> Node:
    history = tensor._cthulhu_history
    if history is None:
        raise ValueError(f"{tensor!r} was not produced by a layer: Lump inputs and outputs "
                         f"must come from Input() and calls of layers")
    layer, node_index, _ = history
    return layer._inbound_nodes[node_index]


def collect_nodes(inputs: list[K.Tensor], outputs: list[K.Tensor]) -> list[Node]:
    """The layer calls between ``inputs`` and ``outputs``, each after those it depends on."""
    input_ids = {id(t) for t in inputs}
    order: list[Node] = []
    done: set[int] = set()
    visiting: set[int] = set()

    def visit(tensor: K.Tensor, consumer: Optional[Layer]) -> None:
        node = _producer(tensor)
        if id(node) in done:
            return
        if isinstance(node.layer, InputLayer) and id(tensor) not in input_ids:
            where = f" at layer {consumer.name!r}" if consumer is not None else ""
            raise ValueError(f"Graph disconnected: cannot obtain value for tensor "
                             f"{tensor.name!r}{where}: its Input {node.layer.name!r} is not "
                             f"one of the model's inputs")
        if id(node) in visiting:
            raise ValueError(f"the layer graph has a cycle through {node.layer.name!r}")
        visiting.add(id(node))
        if id(tensor) not in input_ids:
            for t in node.inputs:
                visit(t, node.layer)
        visiting.discard(id(node))
        done.add(id(node))
        order.append(node)

    for t in outputs:
        visit(t, None)
    return order


def keras_layer_order(inputs: list[K.Tensor], outputs: list[K.Tensor]) -> list[Layer]:
    """Layers in Keras's order: by decreasing depth (distance from the outputs), then in the
    order a walk back from the outputs first meets them. Weights follow this order, so
    get_weights/set_weights lists move between cthulhu and reference Keras unchanged."""
    first_seen: dict[int, int] = {}
    layers: dict[int, Layer] = {}
    post_order: list[Node] = []
    done: set[int] = set()
    input_ids = {id(t) for t in inputs}

    def walk(tensor: K.Tensor) -> None:
        node = _producer(tensor)
        if id(node) in done:
            return
        first_seen.setdefault(id(node.layer), len(first_seen))
        layers[id(node.layer)] = node.layer
        if id(tensor) not in input_ids:
            for t in node.inputs:
                walk(t)
        done.add(id(node))
        post_order.append(node)

    for t in outputs:
        walk(t)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(post_order):
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for t in node.inputs:
            parent = id(_producer(t))
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in inputs:  # an input no output depends on still belongs to the model
        layer = _producer(t).layer
        if id(layer) not in layers:
            layers[id(layer)], layer_depth[id(layer)], first_seen[id(layer)] = layer, 0, -1
    return sorted(layers.values(), key=lambda lay: (-layer_depth[id(lay)],
                                                   first_seen[id(lay)]))


class Lump(Layer, TrainableModel, SavingMixin):
    """A model from inputs to outputs (Keras ``Model``): ``Lump(inputs, outputs)``; also
    ``Lump(input=..., output=...)`` and positional arguments."""

    # Masks flow through a nested model as through its layers.
    supports_masking = True
    _masks_from_call = True

    def __init__(self, inputs: Any = None, outputs: Any = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        inputs = kwargs.pop("input", inputs)
        outputs = kwargs.pop("output", outputs)
        if kwargs:
            raise TypeError(f"Lump: unexpected keyword argument(s) {sorted(kwargs)}")
        if inputs is None or outputs is None:
            raise ValueError("Lump needs inputs and outputs: Lump(inputs=..., outputs=...)")
        super().__init__(name=name)
        self._init_training()
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        self.inputs = _as_list(inputs)
        self.outputs = _as_list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, K.Tensor):
                raise TypeError(f"Lump inputs and outputs must be symbolic tensors, got "
                                f"{type(t).__name__}")
        for t in self.inputs:
            if not isinstance(_producer(t).layer, InputLayer):
                raise ValueError(f"Lump inputs must come from Input(); {t.name!r} was made "
                                 f"by layer {_producer(t).layer.name!r}")
        self._nodes = collect_nodes(self.inputs, self.outputs)
        self._layers = keras_layer_order(self.inputs, self.outputs)
        self.built = True

    # ---- structure ----------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def input_names(self) -> list[str]:
        return [_producer(t).layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [_producer(t).layer.name for t in self.outputs]

    def _input_shapes(self) -> list[tuple]:
        return [tuple(t.shape) for t in self.inputs]

    def _output_shapes(self) -> list[tuple]:
        return [tuple(t.shape) for t in self.outputs]

    @property
    def input_shape(self) -> Any:
        shapes = self._input_shapes()
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = self._output_shapes()
        return shapes[0] if len(shapes) == 1 else shapes

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """A layer by index (which wins when both are given) or by name."""
        return find_layer(self._layers, name, index)

    # ---- tracing ------------------------------------------------------------------------
    def trace_forward(self, xs: list[K.Tensor], training: bool) -> list[K.Tensor]:
        if len(xs) != len(self.inputs):
            raise ValueError(f"Lump {self.name!r} expects {len(self.inputs)} inputs, got "
                             f"{len(xs)}")
        value: dict[int, K.Tensor] = {id(t): x for t, x in zip(self.inputs, xs)}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = [value[id(t)] for t in node.inputs]
            out = node.layer.trace_call(args if len(args) > 1 else args[0], training)
            for t, o in zip(node.outputs, _as_list(out)):
                value[id(t)] = o
        return [value[id(t)] for t in self.outputs]

    def call(self, inputs: Any, training: bool = False) -> Any:
        """As a layer nested in another model."""
        outs = self.trace_forward(_as_list(inputs), training)
        return outs[0] if len(outs) == 1 else outs

    # ---- weights ------------------------------------------------------------------------
    def _sublayers(self) -> list[Layer]:
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    @property
    def weights(self) -> list[K.Variable]:
        seen: set[int] = set()
        out = []
        for layer in self._sublayers():
            for w in layer.weights:  # a shared layer's weights count once
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self) -> list[K.Variable]:
        if not self.trainable:
            return []
        seen: set[int] = set()
        out = []
        for layer in self._sublayers():
            for w in layer.trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def non_trainable_weights(self) -> list[K.Variable]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    def count_params(self) -> int:
        return int(sum(np.prod(w.shape) for w in self.weights))

    def regularization_penalties(self) -> list:
        return [p for layer in self._sublayers() for p in layer.regularization_penalties()]

    def weight_constraints(self) -> dict:
        out: dict = {}
        for layer in self._sublayers():
            out.update(layer.weight_constraints() if hasattr(layer, "weight_constraints")
                       else layer.constraints)
        return out

    # ---- display ------------------------------------------------------------------------
    def summary(self, line_length: int = 65, print_fn=print) -> None:
        rows = []
        for layer in self._layers:
            shapes = [tuple(t.shape) for node in layer._inbound_nodes
                      if node in self._nodes for t in node.outputs]
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         shapes[0] if len(shapes) == 1 else shapes, layer.count_params()))
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        print_summary(self.name, rows, trainable, self.count_params(), line_length, print_fn)

    # ---- config -------------------------------------------------------------------------
    def get_config(self) -> dict:
        return model_config.lump_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: Optional[dict] = None) -> Lump:
        from cthulhu.saving.serialization import loading_options
        with loading_options(custom_objects):
            return model_config.lump_from_config(cls, config)


Model = Lump
