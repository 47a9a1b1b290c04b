"""cthulhu.optimizers: each optimizer emits ONE fused multi-tensor update node into the
training graph; its slots and iteration count are Variables updated in place by the plan."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from compiler.ir import Value
from cthulhu import backend as K


class Optimizer:
    def __init__(self, learning_rate: float, **kwargs: Any) -> None:
        lr = kwargs.pop("lr", None)
        for name in ("decay", "clipnorm", "clipvalue"):
            value = kwargs.pop(name, None)
            if value not in (None, 0, 0.0):
                raise NotImplementedError(f"{type(self).__name__}({name}=...) is not supported "
                                          f"yet")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{sorted(kwargs)}")
        self.learning_rate = float(lr if lr is not None else learning_rate)
        if self.learning_rate < 0:
            raise ValueError(f"learning rate must be >= 0, got {self.learning_rate}")
        self.iterations = K.Variable(np.zeros((), np.int64), "int64", "iterations", False)
        self._slots: dict[tuple[int, str], K.Variable] = {}

    @property
    def lr(self) -> float:
        return self.learning_rate

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = float(value)

    def slot(self, var: K.Variable, name: str) -> K.Variable:
        key = (id(var), name)
        if key not in self._slots:
            self._slots[key] = K.Variable(np.zeros(var.shape), var.dtype,
                                          f"{var.name}/{name}", False)
        return self._slots[key]

    def emit_updates(self, trace: K.Trace, weights: list[K.Variable],
                     grads: list[Value]) -> list[tuple[Value, Value]]:
        """Append the update node and the iteration increment; return the assigns."""
        raise NotImplementedError

    def _finish(self, trace: K.Trace, weights: list[K.Variable], slot_names: list[str],
                outs: tuple) -> list[tuple[Value, Value]]:
        b = trace.builder
        k = len(weights)
        outs = outs if isinstance(outs, tuple) else (outs,)
        targets = [trace.param(w) for w in weights] + [
            trace.param(self.slot(w, s)) for s in slot_names for w in weights]
        assigns = list(zip(targets, outs[:len(targets)]))
        count = trace.param(self.iterations)
        assigns.append((count, b.emit("increment", count)))
        assert len(assigns) == k * (1 + len(slot_names)) + 1
        return assigns

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate}

    def get_weights(self) -> list[np.ndarray]:
        return [self.iterations.numpy()] + [v.numpy() for v in self._slots.values()]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and Nesterov momentum."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def emit_updates(self, trace, weights, grads):
        slots = ["momentum"] if self.momentum else []
        operands = [trace.param(w) for w in weights] + list(grads) + [
            trace.param(self.slot(w, s)) for s in slots for w in weights]
        outs = trace.builder.emit("sgd_update", *operands, k=len(weights),
                                  lr=self.learning_rate, momentum=self.momentum,
                                  nesterov=self.nesterov)
        return self._finish(trace, weights, slots, outs)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba), with the AMSGrad variant; Keras 2 defaults."""

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: Optional[float] = None, amsgrad: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = float(epsilon) if epsilon is not None else K.epsilon()
        self.amsgrad = bool(amsgrad)

    def emit_updates(self, trace, weights, grads):
        slots = ["m", "v"] + (["vhat"] if self.amsgrad else [])
        operands = [trace.param(self.iterations)] + [trace.param(w) for w in weights] + \
            list(grads) + [trace.param(self.slot(w, s)) for s in slots for w in weights]
        outs = trace.builder.emit("adam_update", *operands, k=len(weights),
                                  lr=self.learning_rate, beta_1=self.beta_1,
                                  beta_2=self.beta_2, epsilon=self.epsilon,
                                  amsgrad=self.amsgrad)
        return self._finish(trace, weights, slots, outs)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


sgd, adam = SGD, Adam
_BY_NAME = {"sgd": SGD, "adam": Adam}


def get(identifier: Any) -> Optimizer:
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: {identifier!r}. Known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return cls()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
