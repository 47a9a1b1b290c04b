"""K.rnn: a step function iterated over the time axis (Keras 2 backend semantics).

The IR has no loops, so the iteration is traced by unrolling: one slice of the input per
timestep, the step function's IR for each, and a stack of the outputs. That needs the
number of timesteps when the graph is built (the plan is compiled per length).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from cthulhu.backend._math import switch, zeros_like
from cthulhu.backend._shape import reshape, stack
from cthulhu.backend._tracing import Tensor, _value, _wrap


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _mask_like(mask_t: Tensor, like: Tensor) -> Tensor:
    """The (batch,) mask of one timestep shaped to broadcast over ``like``."""
    return reshape(mask_t, (-1,) + (1,) * (len(like.shape) - 1))


def rnn(step_function: Callable, inputs: Any, initial_states: list, go_backwards: bool = False,
        mask: Any = None, constants: Optional[list] = None, unroll: bool = False,
        input_length: Optional[int] = None, zero_output_for_mask: bool = False) -> tuple:
    """Iterates ``step_function(input_t, states + constants) -> (output_t, new_states)`` over
    axis 1 of ``inputs`` (batch, time, ...). Returns (last_output, outputs, new_states);
    ``outputs`` (batch, time, ...) is in processing order (reversed with go_backwards, as
    Keras). ``mask`` (batch, time) of 0/1: at a masked step the states keep their value and
    the output is the previous step's output (zeros before any), or zeros with
    ``zero_output_for_mask``. The trace is always unrolled (``unroll`` is accepted)."""
    x = _wrap(_value(inputs))
    steps = x.shape[1] if len(x.shape) > 1 else None
    if steps is None:
        raise NotImplementedError(f"K.rnn needs a known number of timesteps (axis 1) to "
                                  f"unroll the recurrence; got inputs of shape {x.shape}")
    if input_length is not None and int(input_length) != steps:
        raise ValueError(f"input_length={input_length} does not match the {steps} timesteps "
                         f"of the inputs {x.shape}")
    if steps == 0:
        raise ValueError("K.rnn: the inputs have no timesteps")
    states = list(initial_states)
    extra = list(constants or [])
    outputs: list[Tensor] = []
    previous: Optional[Tensor] = None
    for t in (reversed(range(steps)) if go_backwards else range(steps)):
        output, new_states = step_function(x[:, t], states + extra)
        new_states = _as_list(new_states)
        if len(new_states) != len(states):
            raise ValueError(f"the step function returned {len(new_states)} states, "
                             f"expected {len(states)}")
        if mask is not None:
            keep = mask[:, t]
            if previous is None or zero_output_for_mask:
                previous = zeros_like(output)
            output = switch(_mask_like(keep, output), output, previous)
            new_states = [switch(_mask_like(keep, new), new, old)
                          for new, old in zip(new_states, states)]
        states, previous = new_states, output
        outputs.append(output)
    return outputs[-1], stack(outputs, axis=1), states
