"""get_config / from_config of Pile (Keras ``Sequential``) and Lump (Keras ``Functional``)
in the layout reference Keras writes, so that either library reads the other's configs.

A Lump config lists its layers, each with the calls ("inbound nodes") that belong to the
model; a call is the list of tensors it consumed, each as [layer name, node index, tensor
index, kwargs]. Node indices count only the calls inside the model, and a nested model
built from Inputs starts at 1 (Keras gives it a node of its own, linking its inputs to its
outputs, which configs never mention)."""

from __future__ import annotations

from typing import Any, Optional

from cthulhu.saving import serialization


def first_node_offset(layer: Any) -> int:
    from cthulhu.models import Lump, Pile
    if isinstance(layer, Lump):
        return 1
    if isinstance(layer, Pile):
        return int(layer._input_shape is not None)
    return 0


# ---- Pile -------------------------------------------------------------------------------
def pile_config(pile: Any) -> dict:
    layers = [serialization.serialize_layer(layer) for layer in pile._layers]
    if pile._input_shape is not None:
        first = pile._layers[0].name if pile._layers else "input"
        dtype = pile._layers[0].dtype if pile._layers else "float32"
        layers.insert(0, {"class_name": "InputLayer", "config": {
            "batch_input_shape": list(pile._input_shape), "dtype": dtype, "sparse": False,
            "name": f"{first}_input"}})
    return {"name": pile.name, "layers": layers}


def pile_from_config(cls: type, config: Any) -> Any:
    if isinstance(config, list):  # the oldest Keras 2 files: just the list of layers
        config = {"layers": config}
    model = cls(name=config.get("name"))
    for spec in config.get("layers", []):
        model.add(serialization.deserialize_layer(spec))  # an InputLayer sets the shape
    if "build_input_shape" in config and not model.built and config["build_input_shape"]:
        model.build(tuple(config["build_input_shape"]))
    return model


# ---- Lump -------------------------------------------------------------------------------
def _model_nodes(lump: Any) -> dict[tuple[int, int], int]:
    """(id(layer), index in layer._inbound_nodes) -> node index in the config."""
    inside = {id(node) for node in lump._nodes}
    numbering: dict[tuple[int, int], int] = {}
    for layer in lump._layers:
        kept = first_node_offset(layer)
        for index, node in enumerate(layer._inbound_nodes):
            if id(node) in inside:
                numbering[(id(layer), index)] = kept
                kept += 1
    return numbering


def _tensor_ref(tensor: Any, numbering: dict) -> list:
    layer, node_index, tensor_index = tensor._cthulhu_history
    return [layer.name, numbering[(id(layer), node_index)], tensor_index]


def lump_config(lump: Any) -> dict:
    numbering = _model_nodes(lump)
    inside = {id(node) for node in lump._nodes}
    layers = []
    for layer in lump._layers:
        calls = [[_tensor_ref(t, numbering) + [{}] for t in node.inputs]
                 for node in layer._inbound_nodes if id(node) in inside and node.inputs]
        layers.append({**serialization.serialize_layer(layer), "name": layer.name,
                       "inbound_nodes": calls})
    return {"name": lump.name, "trainable": lump.trainable, "layers": layers,
            "input_layers": [_tensor_ref(t, numbering) for t in lump.inputs],
            "output_layers": [_tensor_ref(t, numbering) for t in lump.outputs]}


def _refs(value: Any) -> list[list]:
    """input_layers / output_layers: a list of [name, node, tensor], or a single one."""
    if value and isinstance(value[0], str):
        return [list(value)]
    return [list(v) for v in value]


def _call_inputs(call: Any, tensors: dict, layer_name: str) -> Optional[list]:
    """The tensors a saved call consumed, or None if some are not computed yet."""
    inputs = []
    for ref in call:
        if isinstance(ref, dict) or not isinstance(ref, (list, tuple)):
            raise NotImplementedError(f"layer {layer_name!r}: this node format ({ref!r}) is "
                                      f"not supported")
        name, node_index, tensor_index = ref[0], int(ref[1]), int(ref[2])
        if len(ref) > 3 and ref[3]:
            raise NotImplementedError(f"layer {layer_name!r} is called with keyword "
                                      f"arguments {ref[3]!r}, which is not supported yet")
        key = (name, node_index, tensor_index)
        if key not in tensors:
            return None
        inputs.append(tensors[key])
    return inputs


def lump_from_config(cls: type, config: dict) -> Any:
    from cthulhu.layers.base import InputLayer
    created: dict[str, Any] = {}
    pending: dict[str, list] = {}
    tensors: dict[tuple, Any] = {}
    calls_made: dict[str, int] = {}
    order = []
    for spec in config["layers"]:
        layer = serialization.deserialize_layer(spec)
        name = spec.get("name", layer.name)
        if name in created:
            raise ValueError(f"The model config names two layers {name!r}")
        created[name] = layer
        order.append(name)
        pending[name] = list(spec.get("inbound_nodes", []))
        calls_made[name] = first_node_offset(layer)
        if isinstance(layer, InputLayer):
            tensors[(name, 0, 0)] = layer.output
    # Make the calls in the saved order; a call whose inputs are not ready waits for the
    # next sweep (its producer may come later in the list).
    while any(pending.values()):
        progressed = False
        for name in order:
            while pending[name]:
                inputs = _call_inputs(pending[name][0], tensors, name)
                if inputs is None:
                    break
                out = created[name](inputs if len(inputs) > 1 else inputs[0])
                outs = out if isinstance(out, list) else [out]
                for i, t in enumerate(outs):
                    tensors[(name, calls_made[name], i)] = t
                calls_made[name] += 1
                pending[name].pop(0)
                progressed = True
        if not progressed:
            stuck = sorted(n for n, calls in pending.items() if calls)
            raise ValueError(f"The model config is inconsistent: the calls of layer(s) "
                             f"{stuck} need tensors no layer produces")

    def lookup(refs: Any, what: str) -> list:
        out = []
        for name, node_index, tensor_index in (r[:3] for r in _refs(refs)):
            key = (name, int(node_index), int(tensor_index))
            if key not in tensors:
                raise ValueError(f"The model config names {what} {key}, which no layer "
                                 f"produces")
            out.append(tensors[key])
        return out

    inputs = lookup(config["input_layers"], "input")
    outputs = lookup(config["output_layers"], "output")
    model = cls(inputs=inputs, outputs=outputs, name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model
