"""cthulhu.optimizers: each optimizer emits ONE fused multi-tensor update node into the
training graph; its slots, the iteration count (and Nadam's momentum-schedule product) are
Variables updated in place by the plan, so a training step does no per-step Python work.

Semantics are those of tf-keras 2.x's optimizers (``tf_keras.optimizers.<Name>``), defaults
included, plus the Keras 2 arguments they dropped, with the meaning of
``tf_keras.optimizers.legacy.<Name>``:

- ``decay``: the learning rate of each update is lr / (1 + decay * iterations), iterations
  counted before the update;
- ``lr``: an alias of ``learning_rate``.

``clipnorm`` rescales each gradient so that its L2 norm is at most clipnorm (per variable);
``clipvalue`` clips each gradient element to [-clipvalue, clipvalue]. As in tf-keras, when
both are given only ``clipnorm`` is applied. Clipping is emitted as IR on the gradients (the
element-wise fusion pass fuses it); everything else runs inside the fused update kernels.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from compiler.builder import Builder
from compiler.ir import Value
from compiler.ops.optim import UPDATED_SCALARS, update_layout
from cthulhu import backend as K

# tf-keras arguments that cthulhu does not implement, with their default values: giving any
# other value raises NotImplementedError.
_UNSUPPORTED: dict[str, Any] = {
    "weight_decay": None, "global_clipnorm": None, "use_ema": False, "ema_momentum": 0.99,
    "ema_overwrite_frequency": None, "jit_compile": True,
}


def _is_default(value: Any, default: Any) -> bool:
    return value is None if default is None else (value is not None and value == default)


class Hyperparameter:
    """A live view of an optimizer hyper-parameter, so that ``K.get_value(opt.lr)`` and
    ``K.set_value(opt.lr, value)`` work as in Keras. Setting it marks the optimizer changed;
    the model recompiles its plans (a few milliseconds) before its next step."""

    shape = ()
    dtype = "float64"

    def __init__(self, optimizer: Optimizer, attribute: str) -> None:
        self._optimizer, self._attribute = optimizer, attribute

    def numpy(self) -> np.ndarray:
        return np.array(getattr(self._optimizer, self._attribute))

    def assign(self, value: Any) -> None:
        setattr(self._optimizer, self._attribute, float(np.asarray(value)))

    def __float__(self) -> float:
        return float(getattr(self._optimizer, self._attribute))

    def __repr__(self) -> str:
        return f"<Hyperparameter {self._attribute}={float(self)}>"


class Optimizer:
    _op = ""                       # the fused update op this optimizer emits
    _unsupported: dict[str, Any] = {}  # per-class additions / overrides of _UNSUPPORTED

    def __init__(self, learning_rate: float, **kwargs: Any) -> None:
        lr = kwargs.pop("lr", None)
        self.name = str(kwargs.pop("name", None) or type(self).__name__)
        decay = kwargs.pop("decay", 0.0)
        clipnorm = kwargs.pop("clipnorm", None)
        clipvalue = kwargs.pop("clipvalue", None)
        for arg, default in {**_UNSUPPORTED, **self._unsupported}.items():
            if arg in kwargs:
                value = kwargs.pop(arg)
                if not _is_default(value, default):
                    raise NotImplementedError(
                        f"{type(self).__name__}({arg}={value!r}) is not supported by cthulhu "
                        f"(only the default {arg}={default!r} is)")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{sorted(kwargs)}")
        self.version = 0  # bumped whenever a hyper-parameter baked into plans changes
        self.learning_rate = float(lr if lr is not None else learning_rate)
        self.decay = float(decay or 0.0)
        if self.decay < 0:
            raise ValueError(f"decay must be >= 0, got {decay}")
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
            if value is not None and float(value) < 0:
                raise ValueError(f"{arg} must be >= 0, got {value}")
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        if self.clipnorm and self.clipvalue:
            warnings.warn(f"{type(self).__name__}: clipvalue is ignored when clipnorm is set "
                          f"(as in tf-keras); only clipnorm={self.clipnorm} applies",
                          stacklevel=2)
        self.iterations = K.Variable(np.zeros((), np.int64), "int64", "iterations", False)
        self._slots: dict[tuple[int, str], K.Variable] = {}

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        value = float(value)
        if not value >= 0:
            raise ValueError(f"learning rate must be >= 0, got {value}")
        self._learning_rate = value
        self.version += 1

    @property
    def lr(self) -> Hyperparameter:
        """The learning rate, for ``K.get_value`` / ``K.set_value`` (Keras's ``optimizer.lr``)."""
        return Hyperparameter(self, "learning_rate")

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = float(value)

    # ---- state ----------------------------------------------------------------------------
    def _slot_initial_value(self, name: str) -> float:
        return 0.0

    def slot(self, var: K.Variable, name: str) -> K.Variable:
        key = (id(var), name)
        if key not in self._slots:
            init = np.full(var.shape, self._slot_initial_value(name))
            self._slots[key] = K.Variable(init, var.dtype, f"{var.name}/{name}", False)
        return self._slots[key]

    def _scalar_state(self, name: str) -> K.Variable:
        """The Variable behind a scalar state operand of the update op."""
        if name == "step":
            return self.iterations
        raise KeyError(name)

    # ---- graph ----------------------------------------------------------------------------
    def _update_attrs(self) -> dict:
        """The update op's hyper-parameters besides k, lr and decay."""
        return {}

    def clip_gradients(self, b: Builder, grads: list[Value]) -> list[Value]:
        """tf-keras order: clipnorm (per variable) if set, else clipvalue if set."""
        if self.clipnorm:
            clipped = []
            for g in grads:
                limit = b.const(self.clipnorm, g.dtype)
                total = b.emit("reduce_sum", b.emit("square", g), axes=tuple(range(g.rank)),
                               keepdims=False)
                norm = b.emit("sqrt", total)
                clipped.append(b.emit("div", b.mul(g, limit), b.emit("maximum", norm, limit)))
            return clipped
        if self.clipvalue:
            return [b.emit("maximum", b.emit("minimum", g, b.const(self.clipvalue, g.dtype)),
                           b.const(-self.clipvalue, g.dtype)) for g in grads]
        return list(grads)

    def emit_updates(self, trace: K.Trace, weights: list[K.Variable],
                     grads: list[Value]) -> list[tuple[Value, Value]]:
        """Append the (clipped) gradients' fused update node and the iteration increment;
        return the assigns (state param, new value)."""
        b = trace.builder
        k = len(weights)
        grads = self.clip_gradients(b, list(grads))
        attrs = {"k": k, "lr": self.learning_rate, "decay": self.decay, **self._update_attrs()}
        scalars, roles = update_layout(self._op, attrs)
        state = [trace.param(self._scalar_state(s)) for s in scalars]
        targets = [trace.param(w) for w in weights] + [
            trace.param(self.slot(w, role)) for role in roles for w in weights]
        targets += [p for s, p in zip(scalars, state) if s in UPDATED_SCALARS]
        outs = b.emit(self._op, *state, *targets[:k], *grads, *targets[k:k * (1 + len(roles))],
                      **attrs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        assert len(outs) == len(targets)
        assigns = list(zip(targets, outs))
        count = trace.param(self.iterations)
        assigns.append((count, b.emit("increment", count)))
        return assigns

    # ---- Keras API ------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.learning_rate, "decay": self.decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config: dict) -> Optimizer:
        return cls(**config)

    def get_weights(self) -> list[np.ndarray]:
        return [self.iterations.numpy()] + [v.numpy() for v in self._slots.values()]


def _epsilon(value: Optional[float]) -> float:
    return float(value) if value is not None else K.epsilon()


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and Nesterov momentum."""

    _op = "sgd_update"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be between 0 and 1, got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update_attrs(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop, with optional momentum and the centered variant (tf-keras defaults)."""

    _op = "rmsprop_update"
    _unsupported = {"ema_overwrite_frequency": 100}

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: Optional[float] = 1e-7, centered: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        self.rho, self.momentum = float(rho), float(momentum)
        self.epsilon, self.centered = _epsilon(epsilon), bool(centered)

    def _update_attrs(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: accumulators start at initial_accumulator_value (tf-keras defaults)."""

    _op = "adagrad_update"

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: Optional[float] = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(f"initial_accumulator_value must be >= 0, got "
                             f"{initial_accumulator_value}")
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = _epsilon(epsilon)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value

    def _update_attrs(self):
        return {"epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta (tf-keras defaults: learning_rate=0.001, rho=0.95)."""

    _op = "adadelta_update"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95,
                 epsilon: Optional[float] = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = float(rho), _epsilon(epsilon)

    def _update_attrs(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (Kingma & Ba), with the AMSGrad variant; tf-keras defaults."""

    _op = "adam_update"
    _unsupported = {"adaptive_epsilon": False}

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: Optional[float] = 1e-7, amsgrad: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = _epsilon(epsilon)
        self.amsgrad = bool(amsgrad)

    def _update_attrs(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class Adamax(Optimizer):
    """Adamax, the infinity-norm variant of Adam (tf-keras defaults)."""

    _op = "adamax_update"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: Optional[float] = 1e-7,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = _epsilon(epsilon)

    def _update_attrs(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nesterov Adam with tf-keras's momentum schedule mu(t) = beta_1 (1 - 0.5 * 0.96^t).

    The running product of mu is a float64 scalar Variable (``u_product``) that the fused
    update advances once per step. (tf-keras's own Nadam tracks it with a Python counter; in
    a compiled ``tf.function`` train step that counter is frozen at trace time and the product
    is advanced once per variable instead of once per step. cthulhu implements the intended
    semantics, which tf-keras gives when run eagerly.)"""

    _op = "nadam_update"
    _unsupported = {"schedule_decay": None}

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: Optional[float] = 1e-7,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        if self.decay:
            # Keras 2's Nadam reads `decay` as its momentum schedule_decay and never decays
            # the learning rate: no reference to match, so refuse rather than guess.
            raise NotImplementedError("Nadam(decay=...) is not supported: reference Keras has "
                                      "no learning-rate decay for Nadam")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = _epsilon(epsilon)
        self.u_product = K.Variable(np.ones(()), "float64", "u_product", False)

    def _scalar_state(self, name):
        return self.u_product if name == "u_product" else super()._scalar_state(name)

    def _update_attrs(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}

    def get_weights(self):
        weights = super().get_weights()
        return weights[:1] + [self.u_product.numpy()] + weights[1:]


sgd, rmsprop, adagrad, adadelta, adam, adamax, nadam = \
    SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam
_BY_NAME = {cls.__name__.lower(): cls
            for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam)}


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict) -> Optimizer:
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret optimizer config: {config!r}")
    cls = _BY_NAME.get(str(config["class_name"]).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: {config['class_name']!r}. Known: "
                         f"{', '.join(sorted(_BY_NAME))}")
    return cls.from_config(dict(config.get("config", {})))


def get(identifier: Any) -> Optimizer:
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: {identifier!r}. Known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return cls()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
