"""Training-throughput benchmark of small MLPs: cthulhu, optionally against tf-keras.

Usage::

    python bench/mlp.py [--against keras] [--workload W1|W2|all] [--repeats 3]
                        [--threads N] [--busy]

Workloads (see bench/README.md):

  W1  784 -> Daoloth(512, relu) -> Darkness(0.2) -> Daoloth(512, relu)
      -> Darkness(0.2) -> Daoloth(10, softmax); Adam(), categorical_crossentropy,
      batch 128, 60,000 samples.
  W2  20 -> Daoloth(64, relu) -> Daoloth(64, relu) -> Daoloth(1);
      SGD(learning_rate=0.01, momentum=0.9), mse, batch 32, 50,000 samples.
  predict latency: median wall time of one ``predict_on_batch`` call on a
      single row with the W1 model, in microseconds.

Each repeat times one whole ``summon``/``fit`` epoch (verbose=0) after a
warm-up epoch on a slice of the data; the reported number is the median over
the repeats, in training samples per second.
"""

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

SEED = 0
WARMUP_BATCHES = 10
PREDICT_CALLS = 2000
PREDICT_WARMUP_CALLS = 200


# ----------------------------------------------------------------------
# workloads and data
# ----------------------------------------------------------------------
@dataclass
class Workload:
    name: str
    samples: int
    inputs: int
    batch_size: int
    # ("dense", units, activation) or ("dropout", rate)
    layers: list
    optimizer: str  # "adam" or "sgd"
    optimizer_args: dict = field(default_factory=dict)
    loss: str = "mse"
    classes: int = 0  # > 0: one-hot targets with this many classes

    def describe(self):
        parts = [str(self.inputs)]
        for layer in self.layers:
            if layer[0] == "dense":
                parts.append("%d %s" % (layer[1], layer[2] or "linear"))
            else:
                parts.append("dropout %.1f" % layer[1])
        args = ", ".join("%s=%s" % item for item in self.optimizer_args.items())
        return "%s: %s; %s(%s), %s, batch %d, %d samples" % (
            self.name, " -> ".join(parts), self.optimizer.upper() if self.optimizer == "sgd"
            else self.optimizer.capitalize(), args, self.loss, self.batch_size, self.samples)


WORKLOADS = {
    "W1": Workload(
        name="W1", samples=60_000, inputs=784, batch_size=128,
        layers=[("dense", 512, "relu"), ("dropout", 0.2),
                ("dense", 512, "relu"), ("dropout", 0.2),
                ("dense", 10, "softmax")],
        optimizer="adam", loss="categorical_crossentropy", classes=10),
    "W2": Workload(
        name="W2", samples=50_000, inputs=20, batch_size=32,
        layers=[("dense", 64, "relu"), ("dense", 64, "relu"), ("dense", 1, None)],
        optimizer="sgd", optimizer_args={"learning_rate": 0.01, "momentum": 0.9},
        loss="mse"),
}


def make_data(workload):
    """Synthetic (x, y): x standard normal float32; y one-hot or normal."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((workload.samples, workload.inputs), dtype=np.float32)
    if workload.classes:
        labels = rng.integers(0, workload.classes, size=workload.samples)
        y = np.eye(workload.classes, dtype=np.float32)[labels]
    else:
        y = rng.standard_normal((workload.samples, 1), dtype=np.float32)
    return x, y


def warmup_slice(workload):
    """Warm-up size: a few full batches plus the epoch's last partial batch."""
    n = WARMUP_BATCHES * workload.batch_size + workload.samples % workload.batch_size
    return min(n, workload.samples)


# ----------------------------------------------------------------------
# frameworks
# ----------------------------------------------------------------------
class CthulhuBackend:
    name = "cthulhu"

    def __init__(self, threads=None):
        try:
            import cthulhu
        except ImportError:
            # Not installed: use the checkout this script lives in.
            sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            import cthulhu
        from cthulhu.layers import Daoloth, Darkness
        from cthulhu.models import Pile

        self.cthulhu = cthulhu
        self.Pile, self.Daoloth, self.Darkness = Pile, Daoloth, Darkness
        import cthulhu.optimizers  # noqa: F401  (make sure the submodule is loaded)
        if threads:
            cthulhu.set_num_threads(threads)
        self.version = getattr(cthulhu, "__version__", "?")

    def build(self, workload):
        layers = []
        for spec in workload.layers:
            if spec[0] == "dense":
                kwargs = {"activation": spec[2]} if spec[2] else {}
                if not layers:
                    kwargs["input_shape"] = (workload.inputs,)
                layers.append(self.Daoloth(spec[1], **kwargs))
            else:
                layers.append(self.Darkness(spec[1]))
        model = self.Pile(layers)
        optimizers = self.cthulhu.optimizers
        if workload.optimizer == "adam":
            optimizer = optimizers.Adam(**workload.optimizer_args)
        else:
            optimizer = optimizers.SGD(**workload.optimizer_args)
        model.conjure(optimizer=optimizer, loss=workload.loss)
        return model

    def train_epoch(self, model, x, y, batch_size):
        model.summon(x, y, batch_size=batch_size, epochs=1, verbose=0)

    def predict_one(self, model, row):
        return model.predict_on_batch(row)


class KerasBackend:
    name = "keras"

    def __init__(self, threads=None):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import tensorflow as tf
            import tf_keras
        except ImportError as exc:
            print("error: --against keras needs tf-keras and tensorflow "
                  "(pip install tf-keras tensorflow-cpu); import failed: %s" % exc,
                  file=sys.stderr)
            sys.exit(2)
        if threads:
            # Must happen before TensorFlow runs its first op.
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf_keras.utils.set_random_seed(SEED)
        self.tf, self.keras = tf, tf_keras
        self.version = "tf_keras %s, tensorflow %s" % (tf_keras.__version__, tf.__version__)

    def build(self, workload):
        k = self.keras
        layers = [k.Input(shape=(workload.inputs,))]
        for spec in workload.layers:
            if spec[0] == "dense":
                layers.append(k.layers.Dense(spec[1], activation=spec[2]))
            else:
                layers.append(k.layers.Dropout(spec[1]))
        model = k.Sequential(layers)
        if workload.optimizer == "adam":
            optimizer = k.optimizers.Adam(**workload.optimizer_args)
        else:
            optimizer = k.optimizers.SGD(**workload.optimizer_args)
        model.compile(optimizer=optimizer, loss=workload.loss)
        return model

    def train_epoch(self, model, x, y, batch_size):
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)

    def predict_one(self, model, row):
        return model.predict_on_batch(row)


# ----------------------------------------------------------------------
# measurements
# ----------------------------------------------------------------------
def time_call(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure_training(backend, workload, x, y, repeats):
    """Median training samples/s over ``repeats`` timed epochs."""
    model = backend.build(workload)
    n_warm = warmup_slice(workload)
    backend.train_epoch(model, x[:n_warm], y[:n_warm], workload.batch_size)
    rates = []
    for _ in range(repeats):
        seconds = time_call(backend.train_epoch, model, x, y, workload.batch_size)
        rates.append(len(x) / seconds)
    return statistics.median(rates), rates


def measure_predict_latency(backend, workload, x, repeats):
    """Median over repeats of the median single-row predict time, in us."""
    model = backend.build(workload)
    row = x[:1]
    for _ in range(PREDICT_WARMUP_CALLS):
        backend.predict_one(model, row)
    medians = []
    for _ in range(repeats):
        times = [time_call(backend.predict_one, model, row) for _ in range(PREDICT_CALLS)]
        medians.append(statistics.median(times) * 1e6)
    return statistics.median(medians), medians


def run_backend(backend, workload_names, repeats):
    """{row label: (median, all values)} for one framework."""
    results = {}
    for name in workload_names:
        workload = WORKLOADS[name]
        x, y = make_data(workload)
        results[name] = measure_training(backend, workload, x, y, repeats)
        print("  %-8s %-4s train: %s samples/s" % (
            backend.name, name, ", ".join("%.0f" % r for r in results[name][1])), flush=True)
        if name == "W1":
            latency = measure_predict_latency(backend, workload, x, repeats)
            results["W1 predict"] = latency
            print("  %-8s W1   predict 1 row: %s us" % (
                backend.name, ", ".join("%.1f" % r for r in latency[1])), flush=True)
    return results


# ----------------------------------------------------------------------
# busy-loop load
# ----------------------------------------------------------------------
def _spin():
    while True:
        pass


def start_busy_process():
    process = multiprocessing.Process(target=_spin, daemon=True)
    process.start()
    return process


def stop_busy_process(process):
    if process is not None:
        process.terminate()
        process.join()


# ----------------------------------------------------------------------
# report
# ----------------------------------------------------------------------
def _fmt(value, digits=0):
    return "-" if value is None else "%.*f" % (digits, value)


def print_table(results, labels):
    cth = results.get("cthulhu", {})
    ker = results.get("keras", {})
    print()
    print("%-22s %14s %14s %10s" % ("workload", "cthulhu", "keras", "ratio"))
    for label in labels:
        c = cth.get(label, (None,))[0]
        k = ker.get(label, (None,))[0]
        if label.endswith("predict"):
            title = "W1 predict 1 row (us)"
            ratio = k / c if c and k else None  # lower latency is better
            row = (_fmt(c, 1), _fmt(k, 1))
        else:
            title = "%s train (samples/s)" % label
            ratio = c / k if c and k else None
            row = (_fmt(c), _fmt(k))
        print("%-22s %14s %14s %10s" % (title, row[0], row[1], _fmt(ratio, 2)))
    print("ratio > 1 means cthulhu is faster (throughput ratio; keras/cthulhu for latency).")


def benchmark_parser(description):
    """The flags every training benchmark takes (workload scripts add their own)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--against", choices=["keras"], default=None,
                        help="also run the same workloads in tf-keras")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="thread count for cthulhu and TensorFlow")
    parser.add_argument("--busy", action="store_true",
                        help="run one busy-loop process during the measurements")
    # Run only one side (e.g. while the other is unavailable).
    parser.add_argument("--only", choices=["cthulhu", "keras"], default=None)
    return parser


def checked_args(parser, argv=None):
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    return args


def print_header(args):
    print("python %s, numpy %s, %s cpus, threads=%s, busy=%s, repeats=%d" % (
        platform.python_version(), np.__version__, os.cpu_count(),
        args.threads or "default", args.busy, args.repeats))


def parse_args(argv=None):
    parser = benchmark_parser("MLP training throughput benchmark.")
    parser.add_argument("--workload", choices=["W1", "W2", "all"], default="all")
    return checked_args(parser, argv)


def run_training_benchmark(args, description, make_data, backend_classes, measure):
    """One training workload (``description`` starts with its label, e.g. "W3  28x28x1
    -> ...") in each selected framework, imported in turn so that TensorFlow's threads are
    not around during cthulhu's runs, then the table. ``measure(backend, x, y, repeats)``
    returns (median samples/s, all of them)."""
    label = description.split()[0]
    backend_names = selected_backends(args)
    if "keras" in backend_names:
        check_keras_installed()
    print_header(args)
    print(description.strip())
    x, y = make_data()
    busy = start_busy_process() if args.busy else None
    results = {}
    try:
        for name in backend_names:
            backend = make_backend(backend_classes[name], args.threads)
            print("%s: %s" % (name, backend.version), flush=True)
            results[name] = {label: measure(backend, x, y, args.repeats)}
            print("  %-8s %s train: %s samples/s" % (name, label, ", ".join(
                "%.0f" % r for r in results[name][label][1])), flush=True)
    finally:
        stop_busy_process(busy)
    print_table(results, [label])
    return 0


def selected_backends(args):
    names = ["cthulhu"]
    if args.against == "keras":
        names.append("keras")
    if args.only:
        names = [args.only]
    return names


def make_backend(cls, threads):
    try:
        return cls(threads=threads)
    except ImportError as exc:
        print("error: could not load %s: %s" % (cls.name, exc), file=sys.stderr)
        sys.exit(1)


def check_keras_installed():
    """Fail early (exit 2), before minutes of cthulhu runs, if tf-keras is absent."""
    import importlib.util

    missing = [m for m in ("tensorflow", "tf_keras") if importlib.util.find_spec(m) is None]
    if missing:
        print("error: --against keras needs tf-keras and tensorflow "
              "(pip install tf-keras tensorflow-cpu); missing: %s" % ", ".join(missing),
              file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    args = parse_args(argv)
    workload_names = ["W1", "W2"] if args.workload == "all" else [args.workload]
    backend_names = selected_backends(args)
    backend_classes = {"cthulhu": CthulhuBackend, "keras": KerasBackend}
    if "keras" in backend_names:
        check_keras_installed()

    print_header(args)
    for name in workload_names:
        print(WORKLOADS[name].describe())

    busy = start_busy_process() if args.busy else None
    try:
        results = {}
        for name in backend_names:
            # Each framework is imported only when its turn comes, so the
            # other one's threads are not around during cthulhu's runs.
            backend = make_backend(backend_classes[name], args.threads)
            print("%s: %s" % (backend.name, backend.version), flush=True)
            results[name] = run_backend(backend, workload_names, args.repeats)
    finally:
        stop_busy_process(busy)

    labels = list(workload_names)
    if "W1" in workload_names:
        labels.insert(1, "W1 predict")
    print_table(results, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
