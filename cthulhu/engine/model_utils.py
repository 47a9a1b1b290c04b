"""What Pile and Lump share as containers of layers: get_layer and summary."""

from __future__ import annotations

from typing import Any, Callable, Optional


def find_layer(layers: list, name: Optional[str] = None, index: Optional[int] = None) -> Any:
    """A layer by index (which wins when both are given) or by name (Keras get_layer)."""
    if index is not None:
        if not -len(layers) <= index < len(layers):
            raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                             f"has {len(layers)} layers.")
        return layers[index]
    if name is None:
        raise ValueError("Provide either a layer name or layer index.")
    for layer in layers:
        if layer.name == name:
            return layer
    raise ValueError(f"No such layer: {name}.")


def print_summary(model_name: str, rows: list[tuple[str, Any, int]], trainable: int,
                  total: int, line_length: int = 65, print_fn: Callable = print) -> None:
    """The Keras summary table: one row (name (type), output shape, params) per layer."""
    widths = [29, 26, line_length - 55]
    rule = "_" * line_length

    def row(*fields: Any) -> str:
        return "".join(f" {str(f):<{w - 1}}" for f, w in zip(fields, widths)).rstrip()

    print_fn(f'Model: "{model_name}"')
    print_fn(rule)
    print_fn(row("Layer (type)", "Output Shape", "Param #"))
    print_fn("=" * line_length)
    for fields in rows:
        print_fn(row(*fields))
        print_fn("")
    print_fn("=" * line_length)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn(rule)
