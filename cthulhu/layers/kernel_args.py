"""The arguments of every layer with a kernel and a bias (Daoloth, the convolutions, the
locally connected layers): activation, use_bias and the kernel/bias initializers,
regularizers and constraints, read in one place and written to configs in one place."""

from __future__ import annotations

from typing import Any

from cthulhu import activations, constraints, initializers, regularizers


class KernelBiasArgs:
    def _set_kernel_bias_args(self, activation: Any, use_bias: bool, kernel_initializer: Any,
                              bias_initializer: Any, kernel_regularizer: Any,
                              bias_regularizer: Any, activity_regularizer: Any,
                              kernel_constraint: Any, bias_constraint: Any) -> None:
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _kernel_bias_config(self) -> dict:
        return dict(activation=activations.serialize(self.activation), use_bias=self.use_bias,
                    kernel_initializer=initializers.serialize(self.kernel_initializer),
                    bias_initializer=initializers.serialize(self.bias_initializer),
                    kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                    bias_regularizer=regularizers.serialize(self.bias_regularizer),
                    activity_regularizer=regularizers.serialize(self.activity_regularizer),
                    kernel_constraint=constraints.serialize(self.kernel_constraint),
                    bias_constraint=constraints.serialize(self.bias_constraint))
