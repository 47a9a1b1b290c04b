import numpy as np
import pytest
from cthulhu._kernels.optim import (
    adadelta_update_np,
    adagrad_update_np,
    adam_avx_np,
    adam_rows_update_np,
    adam_update_np,
    adamax_update_np,
    nadam_schedule_np,
    nadam_update_np,
    rmsprop_update_np,
    sgd_update_np,
)

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


@pytest.fixture
def avx_choice():
    chosen = adam_avx_np()
    yield
    adam_avx_np(chosen)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_avx_loops_match_the_baseline_bit_for_bit(dtype, amsgrad, avx_choice):
    if not adam_avx_np(True):
        pytest.skip("this CPU has no AVX")
    size = 1003                                  # 8-wide loops plus a remainder
    rng = np.random.default_rng(8)
    start = [rng.standard_normal(size), rng.standard_normal(size) * 0.1,
             np.abs(rng.standard_normal(size)) * 0.1]
    gs = grads(size, 3, seed=9)
    gs[1][::5] = 0.0
    gs[2][::13] = np.nan                         # NaN propagation, amsgrad's max included
    results = []
    for avx in (False, True):
        adam_avx_np(avx)
        w, m, v = [a.astype(dtype) for a in start]
        vhat = v * 2 if amsgrad else None
        for t, g in enumerate(gs, start=1):
            adam_update_np(w, g.astype(dtype), m, v, vhat, step=t)
        # g = 0 spans of the row-wise step (no index hits any row)
        adam_rows_update_np(w.reshape(17, 59), np.zeros(0, dtype), np.zeros((0, 59), dtype),
                            m.reshape(17, 59), v.reshape(17, 59),
                            None if vhat is None else vhat.reshape(17, 59), step=4)
        results.append([w, m, v] + ([vhat] if amsgrad else []))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(results[0][0]).any()


def test_adam_first_step_magnitude():
    # with step=1 the bias correction makes the first update lr * sign(g) (up to eps)
    w = np.zeros(4)
    g = np.array([1.0, -2.0, 1e-3, -5.0])
    adam_update_np(w, g, np.zeros(4), np.zeros(4), lr=0.1, epsilon=1e-12, step=1)
    np.testing.assert_allclose(w, -0.1 * np.sign(g), rtol=1e-6)


def decayed(lr, decay, t):
    return lr / (1 + decay * (t - 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("decay", [0.0, 0.3])
def test_sgd_and_adam_decay(dtype, nt, decay):
    size, lr = 1001, 0.05
    w0 = np.random.default_rng(4).standard_normal(size)
    w_sgd, w_ref = w0.astype(dtype), w0.copy()
    w_adam, m, v = w0.astype(dtype), np.zeros(size, dtype), np.zeros(size, dtype)
    a_ref, m_ref, v_ref = w0.copy(), np.zeros(size), np.zeros(size)
    for t, g in enumerate(grads(size, 5, seed=5), start=1):
        w_ref = w_ref - decayed(lr, decay, t) * g
        sgd_update_np(w_sgd, g.astype(dtype), lr=lr, decay=decay, step=t, n_threads=nt)
        m_ref = 0.9 * m_ref + 0.1 * g
        v_ref = 0.999 * v_ref + 0.001 * g * g
        alpha = decayed(lr, decay, t) * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        a_ref = a_ref - alpha * m_ref / (np.sqrt(v_ref) + 1e-7)
        adam_update_np(w_adam, g.astype(dtype), m, v, lr=lr, decay=decay, step=t, n_threads=nt)
    # float32: weights near zero after cancellation carry absolute rounding of the O(1) inputs
    loose = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else tol(dtype)
    np.testing.assert_allclose(w_sgd, w_ref, **loose)
    np.testing.assert_allclose(w_adam, a_ref, **loose)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop(dtype, size, nt, momentum, centered):
    lr, rho, eps, decay = 0.01, 0.8, 1e-7, 0.1
    w_ref = np.random.default_rng(6).standard_normal(size)
    v_ref, mom_ref, avg_ref = np.zeros(size), np.zeros(size), np.zeros(size)
    w, v = w_ref.astype(dtype), np.zeros(size, dtype)
    mom = np.zeros(size, dtype) if momentum else None
    avg = np.zeros(size, dtype) if centered else None
    for t, g in enumerate(grads(size, 5, seed=7), start=1):
        v_ref = rho * v_ref + (1 - rho) * g * g
        if centered:
            avg_ref = rho * avg_ref + (1 - rho) * g
            denom = v_ref - avg_ref**2 + eps
        else:
            denom = v_ref + eps
        inc = decayed(lr, decay, t) * g / np.sqrt(denom)
        if momentum:
            mom_ref = momentum * mom_ref + inc
            inc = mom_ref
        w_ref = w_ref - inc
        rmsprop_update_np(w, g.astype(dtype), v, mom, avg, lr=lr, rho=rho, momentum=momentum,
                          epsilon=eps, decay=decay, step=t, n_threads=nt)
    # centered: v - avg^2 nearly cancels, so float32 keeps fewer correct digits
    loose = dict(rtol=2e-4, atol=1e-5) if dtype == np.float32 and centered else tol(dtype)
    np.testing.assert_allclose(w, w_ref, **loose)
    np.testing.assert_allclose(v, v_ref, **tol(dtype))
    if momentum:
        np.testing.assert_allclose(mom, mom_ref, **loose)
    if centered:
        np.testing.assert_allclose(avg, avg_ref, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("decay", [0.0, 0.2])
def test_adagrad(dtype, size, nt, decay):
    lr, eps = 0.1, 1e-7
    w_ref = np.random.default_rng(8).standard_normal(size)
    acc_ref = np.full(size, 0.1)
    w, acc = w_ref.astype(dtype), acc_ref.astype(dtype)
    for t, g in enumerate(grads(size, 5, seed=9), start=1):
        acc_ref = acc_ref + g * g
        w_ref = w_ref - decayed(lr, decay, t) * g / np.sqrt(acc_ref + eps)
        adagrad_update_np(w, g.astype(dtype), acc, lr=lr, epsilon=eps, decay=decay, step=t,
                          n_threads=nt)
    np.testing.assert_allclose(w, w_ref, **tol(dtype))
    np.testing.assert_allclose(acc, acc_ref, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("decay", [0.0, 0.2])
def test_adadelta(dtype, size, nt, decay):
    lr, rho, eps = 1.0, 0.95, 1e-6
    w_ref = np.random.default_rng(10).standard_normal(size)
    ag_ref, ad_ref = np.zeros(size), np.zeros(size)
    w, ag, ad = w_ref.astype(dtype), np.zeros(size, dtype), np.zeros(size, dtype)
    for t, g in enumerate(grads(size, 5, seed=11), start=1):
        ag_ref = rho * ag_ref + (1 - rho) * g * g
        delta = -np.sqrt(ad_ref + eps) * g / np.sqrt(ag_ref + eps)
        ad_ref = rho * ad_ref + (1 - rho) * delta * delta
        w_ref = w_ref + decayed(lr, decay, t) * delta
        adadelta_update_np(w, g.astype(dtype), ag, ad, lr=lr, rho=rho, epsilon=eps,
                           decay=decay, step=t, n_threads=nt)
    np.testing.assert_allclose(w, w_ref, **tol(dtype))
    np.testing.assert_allclose(ag, ag_ref, **tol(dtype))
    np.testing.assert_allclose(ad, ad_ref, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("decay", [0.0, 0.2])
def test_adamax(dtype, size, nt, decay):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    w_ref = np.random.default_rng(12).standard_normal(size)
    m_ref, u_ref = np.zeros(size), np.zeros(size)
    w, m, u = w_ref.astype(dtype), np.zeros(size, dtype), np.zeros(size, dtype)
    gs = grads(size, 6, seed=13)
    if size > 10:
        gs[3][:10] *= 0.01          # shrinking gradients: the decayed max b2 * u wins
    for t, g in enumerate(gs, start=1):
        m_ref = b1 * m_ref + (1 - b1) * g
        u_ref = np.maximum(b2 * u_ref, np.abs(g))
        w_ref = w_ref - decayed(lr, decay, t) / (1 - b1**t) * m_ref / (u_ref + eps)
        adamax_update_np(w, g.astype(dtype), m, u, lr=lr, beta1=b1, beta2=b2, epsilon=eps,
                         decay=decay, step=t, n_threads=nt)
    np.testing.assert_allclose(w, w_ref, **tol(dtype))
    np.testing.assert_allclose(m, m_ref, **tol(dtype))
    np.testing.assert_allclose(u, u_ref, **tol(dtype))


def _mu(b1, t):
    return b1 * (1 - 0.5 * 0.96**t)


def test_nadam_schedule():
    p = 1.0
    for t in range(1, 6):
        p = nadam_schedule_np(p, beta1=0.8, step=t)
    assert p == pytest.approx(np.prod([_mu(0.8, t) for t in range(1, 6)]), rel=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("decay", [0.0, 0.2])
def test_nadam(dtype, size, nt, decay):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    w_ref = np.random.default_rng(14).standard_normal(size)
    m_ref, v_ref = np.zeros(size), np.zeros(size)
    w, m, v = w_ref.astype(dtype), np.zeros(size, dtype), np.zeros(size, dtype)
    product = 1.0
    for t, g in enumerate(grads(size, 5, seed=15), start=1):
        product = product * _mu(b1, t)
        m_ref = b1 * m_ref + (1 - b1) * g
        v_ref = b2 * v_ref + (1 - b2) * g * g
        m_hat = _mu(b1, t + 1) * m_ref / (1 - product * _mu(b1, t + 1)) + \
            (1 - _mu(b1, t)) * g / (1 - product)
        v_hat = v_ref / (1 - b2**t)
        w_ref = w_ref - decayed(lr, decay, t) * m_hat / (np.sqrt(v_hat) + eps)
        nadam_update_np(w, g.astype(dtype), m, v, product, lr=lr, beta1=b1, beta2=b2,
                        epsilon=eps, decay=decay, step=t, n_threads=nt)
    np.testing.assert_allclose(w, w_ref, **tol(dtype))
    np.testing.assert_allclose(m, m_ref, **tol(dtype))
    np.testing.assert_allclose(v, v_ref, **tol(dtype))


def _run_all(dtype, nt):
    """Every kernel for 3 steps on a tensor large enough to split; returns all the state."""
    size = 4099
    rng = np.random.default_rng(16)
    w0 = rng.standard_normal(size).astype(dtype)
    gs = [rng.standard_normal(size).astype(dtype) for _ in range(3)]
    z = lambda: np.zeros(size, dtype)  # noqa: E731
    runs = {
        "sgd": ([w0.copy(), z()], lambda s, g, t: sgd_update_np(
            s[0], g, s[1], lr=0.1, momentum=0.9, nesterov=True, decay=0.1, step=t,
            n_threads=nt)),
        "adam": ([w0.copy(), z(), z(), z()], lambda s, g, t: adam_update_np(
            s[0], g, s[1], s[2], s[3], decay=0.1, step=t, n_threads=nt)),
        "rmsprop": ([w0.copy(), z(), z(), z()], lambda s, g, t: rmsprop_update_np(
            s[0], g, s[1], s[2], s[3], momentum=0.9, decay=0.1, step=t, n_threads=nt)),
        "adagrad": ([w0.copy(), z() + 0.1], lambda s, g, t: adagrad_update_np(
            s[0], g, s[1], decay=0.1, step=t, n_threads=nt)),
        "adadelta": ([w0.copy(), z(), z()], lambda s, g, t: adadelta_update_np(
            s[0], g, s[1], s[2], lr=1.0, decay=0.1, step=t, n_threads=nt)),
        "adamax": ([w0.copy(), z(), z()], lambda s, g, t: adamax_update_np(
            s[0], g, s[1], s[2], decay=0.1, step=t, n_threads=nt)),
        "nadam": ([w0.copy(), z(), z()], lambda s, g, t: nadam_update_np(
            s[0], g, s[1], s[2], nadam_schedule_np(1.0, step=t) * 0.5, decay=0.1, step=t,
            n_threads=nt)),
    }
    out = {}
    for name, (state, step) in runs.items():
        for t, g in enumerate(gs, start=1):
            step(state, g, t)
        out[name] = state
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_counts_give_identical_results(dtype):
    one, two = _run_all(dtype, 1), _run_all(dtype, 2)
    for name in one:
        for a, b in zip(one[name], two[name]):
            np.testing.assert_array_equal(a, b, err_msg=name)


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
    with pytest.raises(ValueError, match="step"):
        nadam_update_np(w, w.copy(), w.copy(), w.copy(), 1.0, step=0)
    with pytest.raises(ValueError, match="acc"):
        adagrad_update_np(w, w.copy(), np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="avg"):
        rmsprop_update_np(w, w.copy(), w.copy(), None, np.zeros(4))
    with pytest.raises(ValueError, match="acc_d"):
        adadelta_update_np(w, w.copy(), w.copy(), [0.0] * 5)
    with pytest.raises(ValueError, match="u"):
        adamax_update_np(w, w.copy(), w.copy(), np.zeros(6))
    ro = np.zeros(5)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        sgd_update_np(ro, np.zeros(5))
