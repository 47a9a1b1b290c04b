import numpy as np
import pytest
from cthulhu._kernels.optim import adam_update_np, sgd_update_np

DTYPES = [np.float32, np.float64]
THREADS = [1, 2]
SIZES = [0, 1, 17, 70001]


def tol(dtype):
    if dtype == np.float32:
        return dict(rtol=1e-5, atol=1e-6)
    return dict(rtol=1e-12, atol=1e-14)


def grads(size, steps, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size) for _ in range(steps)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("mode", ["plain", "momentum", "nesterov"])
def test_sgd(dtype, size, nt, mode):
    lr, momentum = 0.05, 0.9
    w0 = np.random.default_rng(1).standard_normal(size)
    w_ref, v_ref = w0.copy(), np.zeros(size)
    w = w0.astype(dtype)
    vel = None if mode == "plain" else np.zeros(size, dtype)
    for g in grads(size, 5):
        if mode == "plain":
            w_ref = w_ref - lr * g
        else:
            v_ref = momentum * v_ref - lr * g
            if mode == "nesterov":
                w_ref = w_ref + momentum * v_ref - lr * g
            else:
                w_ref = w_ref + v_ref
        sgd_update_np(w, g.astype(dtype), vel, lr=lr, momentum=momentum if vel is not None
                      else 0.0, nesterov=mode == "nesterov", n_threads=nt)
    np.testing.assert_allclose(w, w_ref, **tol(dtype))
    if vel is not None:
        np.testing.assert_allclose(vel, v_ref, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(dtype, size, nt, amsgrad):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    w0 = np.random.default_rng(2).standard_normal(size)
    w_ref, m_ref, v_ref, vh_ref = w0.copy(), np.zeros(size), np.zeros(size), np.zeros(size)
    w = w0.astype(dtype)
    m = np.zeros(size, dtype)
    v = np.zeros(size, dtype)
    vhat = np.zeros(size, dtype) if amsgrad else None
    gs = grads(size, 6, seed=3)
    if size > 10:
        gs[4][:10] *= 0.01          # shrinking gradients: amsgrad's max(vhat, v) matters
        gs[5][:10] *= 0.01
    for it, g in enumerate(gs):
        t = it + 1
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m_ref = b1 * m_ref + (1 - b1) * g
        v_ref = b2 * v_ref + (1 - b2) * g * g
        if amsgrad:
            vh_ref = np.maximum(vh_ref, v_ref)
            w_ref = w_ref - lr_t * m_ref / (np.sqrt(vh_ref) + eps)
        else:
            w_ref = w_ref - lr_t * m_ref / (np.sqrt(v_ref) + eps)
        adam_update_np(w, g.astype(dtype), m, v, vhat, lr=lr, beta1=b1, beta2=b2,
                       epsilon=eps, step=t, n_threads=nt)
    np.testing.assert_allclose(w, w_ref, **tol(dtype))
    np.testing.assert_allclose(m, m_ref, **tol(dtype))
    np.testing.assert_allclose(v, v_ref, **tol(dtype))
    if amsgrad:
        np.testing.assert_allclose(vhat, vh_ref, **tol(dtype))
        if size > 10:
            assert np.any(vh_ref[:10] > v_ref[:10])


def test_adam_first_step_magnitude():
    # with step=1 the bias correction makes the first update lr * sign(g) (up to eps)
    w = np.zeros(4)
    g = np.array([1.0, -2.0, 1e-3, -5.0])
    adam_update_np(w, g, np.zeros(4), np.zeros(4), lr=0.1, epsilon=1e-12, step=1)
    np.testing.assert_allclose(w, -0.1 * np.sign(g), rtol=1e-6)


def test_errors():
    w = np.zeros(5)
    with pytest.raises(ValueError, match="elements"):
        sgd_update_np(w, np.zeros(4))
    with pytest.raises(ValueError, match="dtype"):
        sgd_update_np(w, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="step"):
        adam_update_np(w, w.copy(), w.copy(), w.copy(), step=0)
    with pytest.raises(ValueError, match="vhat"):
        adam_update_np(w, w.copy(), w.copy(), w.copy(), np.zeros(3))
    ro = np.zeros(5)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        sgd_update_np(ro, np.zeros(5))
