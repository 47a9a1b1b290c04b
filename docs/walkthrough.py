"""An executable tour of cthulhu's pipeline: run it, read what it prints.

    python docs/walkthrough.py

1. A two-layer Pile is traced into compiler IR (the unoptimized forward graph).
2. The forward passes fuse GEMM + bias + activation into `dense` and softmax + cross-entropy
   into `softmax_xent`.
3. Reverse-mode autodiff appends the gradient, the optimizer appends one fused update.
4. The step passes fold, simplify, fuse bias gradients and element-wise chains.
5. Lowering plans one memory arena and encodes kernel calls for the native executor.
6. One training step runs the plan, and the reference interpreter agrees with it.

It breaks loudly when the design drifts: every stage is checked by the verifier.
"""

import numpy as np

from compiler.autodiff import grad
from compiler.builder import Builder
from compiler.interpret import interpret
from compiler.pipeline import optimize_forward, optimize_step
from compiler.verify import verify
from cthulhu import backend as K
from cthulhu.engine.graphs import build_graph
from cthulhu.layers import Daoloth
from cthulhu.models import Pile


def banner(title: str) -> None:
    print(f"\n==== {title} " + "=" * max(0, 70 - len(title)))


def main() -> None:
    np.random.seed(0)
    model = Pile([Daoloth(4, activation="relu", input_shape=(3,)),
                  Daoloth(2, activation="softmax")])
    model.conjure(optimizer="sgd", loss="categorical_crossentropy")

    banner("1. traced forward graph (loss of one batch)")
    b = Builder(K.floatx())
    trace = K.Trace(b, training=True, step_variable=model.optimizer.iterations)
    with K.tracing(trace):
        x = K.Tensor(b.input((None, 3), name="x"), (None, 3), K.floatx())
        y = K.Tensor(b.input((None, 2), name="y"), (None, 2), K.floatx())
        (y_pred,) = model.trace_forward([x], True)
        loss = K.mean(model.loss_fn(y, y_pred))
        forward = b.graph({"loss": loss.value})
        verify(forward, "trace")
        print(forward)

        banner("2. after the forward passes")
        fused = optimize_forward(forward, check=True)
        print(fused)

        banner("3. gradient and optimizer update appended")
        b2 = Builder.from_graph(fused, K.floatx())
        trace.builder = b2
        params = [trace.param(w) for w in model.trainable_weights]
        grads = grad(b2, fused.outputs["loss"], params)
        assigns = model.optimizer.emit_updates(trace, model.trainable_weights, grads)
        step = b2.graph(fused.outputs, assigns)
        verify(step, "autodiff")
        print(f"{len(step.nodes)} nodes")

        banner("4. after the step passes")
        print(optimize_step(step, check=True))

    banner("5. the plan")
    print(model.plan_summary("train", batch_size=8))

    banner("6. one training step, native plan against the reference interpreter")
    xs = np.random.normal(size=(8, 3)).astype("float32")
    ys = np.eye(2, dtype="float32")[np.random.randint(0, 2, 8)]
    reference = build_graph(model, "train", fusion=False)
    state = [v.numpy() for v in reference.variables]
    weights = np.ones(len(xs), dtype="float32")
    outputs, new_state = interpret(reference.graph, [xs, ys, weights], state)
    native_loss = model.train_on_batch(xs, ys)
    print(f"loss: native {native_loss:.6f}, reference {float(outputs['loss']):.6f}")
    worst = max(float(np.max(np.abs(v.numpy() - s)))
                for v, s in zip(reference.variables, new_state))
    print(f"largest weight difference after the step: {worst:.2e}")
    assert abs(native_loss - float(outputs["loss"])) < 1e-5 and worst < 1e-5


if __name__ == "__main__":
    main()
