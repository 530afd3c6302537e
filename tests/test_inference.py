"""vaelib.inference against quadrature, closed forms and torch.distributions.

Tolerances: quadrature identities hold to 1e-6 nats (the default grid, dz = 0.01; measured ~1e-7);
Monte Carlo claims are checked to within 4 standard errors, with fixed seeds (so deterministic).
"""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vaelib import data, lvm
from vaelib import inference as I

X_BIMODAL = 1.2  # an x whose posterior in the default NonlinearLVM is far from Gaussian


@pytest.fixture(scope="module")
def model():
    return lvm.NonlinearLVM()


@pytest.fixture(scope="module")
def points(model):
    _, x = model.sample(60, generator=torch.Generator().manual_seed(1))
    return x


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def mean_and_se(t):
    return t.mean().item(), t.std().item() / math.sqrt(t.numel())


# ---------------------------------------------------------------- the ELBO and the evidence


def test_variational_family_is_a_torch_normal():
    q = I.variational(0.5, 2.0)
    assert isinstance(q, Normal) and q.loc.item() == 0.5 and q.scale.item() == 2.0


def linear(mu_z=0.5, s_z=1.5, w=-2.0, b=1.0, sigma=0.3):
    """A NonlinearLVM whose f is linear, and the closed-form LinearGaussianLVM it equals."""
    nl = lvm.NonlinearLVM(f=lambda z: w * z + b, sigma=sigma, mu_z=mu_z, s_z=s_z)
    exact = lvm.LinearGaussianLVM(*(torch.tensor(v, dtype=torch.float64)
                                    for v in (mu_z, s_z, w, b, sigma)))
    return nl, exact


@pytest.mark.parametrize("m,s", [(0.0, 1.0), (0.8, 0.3), (-1.5, 0.6), (0.2, 1.5)])
def test_grid_elbo_and_kl_match_the_closed_form_of_a_linear_model(m, s):
    """ELBO(q) = log p_θ(x) - KL(q ‖ p_θ(z|x)) with both right-hand terms in closed form
    (LinearGaussianLVM, torch's Gaussian KL): quadrature to 1e-6 nats, or 1e-7 of a large KL."""
    nl, exact = linear()
    q = Normal(torch.tensor(m, dtype=torch.float64), torch.tensor(s, dtype=torch.float64))
    for x in (-0.5, 1.2, 2.5):
        kl = kl_divergence(q, exact.posterior(torch.tensor(x, dtype=torch.float64))).item()
        log_px = exact.marginal().log_prob(torch.tensor(x, dtype=torch.float64)).item()
        close = dict(rel=1e-7, abs=1e-6)  # KL up to 50 nats here: 1e-7 of it is quadrature error
        assert I.kl_to_posterior_grid(nl, x, m, s).item() == pytest.approx(kl, **close)
        assert I.elbo_grid(nl, x, m, s).item() == pytest.approx(log_px - kl, **close)


@pytest.mark.parametrize("m,s", [(0.0, 1.0), (0.8, 0.3), (-1.5, 0.6), (0.2, 1.5)])
def test_the_kl_to_a_non_gaussian_posterior_is_positive(model, m, s):
    for x in (-0.5, X_BIMODAL, 2.5):
        assert I.kl_to_posterior_grid(model, x, m, s).item() > 1e-3


def test_elbo_is_below_the_log_evidence_for_every_q_on_a_surface(model):
    M, S = torch.meshgrid(torch.linspace(-3, 3, 41), torch.linspace(0.1, 3, 30), indexing="ij")
    for x in (-0.5, X_BIMODAL, 2.5):
        with torch.no_grad():
            surface = I.elbo_grid(model, x, M, S)
        assert surface.shape == M.shape and torch.isfinite(surface).all()
        assert (surface < model.log_marginal(torch.tensor(x))).all()


def test_the_grid_log_marginal_and_moments_match_the_closed_form():
    nl, exact = linear()
    x = torch.linspace(-4, 4, 17, dtype=torch.float64)
    torch.testing.assert_close(I.log_marginal_grid(nl, x), exact.marginal().log_prob(x),
                               rtol=0, atol=1e-9)
    mean, std = I.posterior_moments_grid(nl, x)
    torch.testing.assert_close(mean, exact.posterior(x).mean, rtol=0, atol=1e-8)
    torch.testing.assert_close(std, exact.posterior(x).stddev, rtol=0, atol=1e-8)


@pytest.mark.parametrize("analytic_kl", [True, False])
def test_the_sampled_elbo_is_unbiased(model, analytic_kl):
    n, (m, s) = 40000, (0.4, 0.7)
    q = Normal(torch.full((n,), m, dtype=torch.float64), torch.full((n,), s, dtype=torch.float64))
    with torch.no_grad():
        draws = I.elbo(model, X_BIMODAL, q, 1, analytic_kl=analytic_kl, generator=g())
    mean, se = mean_and_se(draws)
    assert abs(mean - I.elbo_grid(model, X_BIMODAL, m, s).item()) < 4 * se


def test_elbo_with_the_exact_posterior_is_the_log_evidence_in_every_sample():
    """Linear-Gaussian model: with q = p_θ(z|x), log p(x, z) - log q(z) = log p(x) for every z."""
    lin = lvm.LinearGaussianLVM(mu_z=0.3, s_z=1.2, w=-0.8, b=0.5, sigma=0.4)
    x = torch.tensor([-1.0, 0.2, 2.0])
    for n in (1, 5):
        e = I.elbo(lin, x, lin.posterior(x), n, analytic_kl=False, generator=g())
        torch.testing.assert_close(e, lin.marginal().log_prob(x))
    with_kl = I.elbo(lin, x, lin.posterior(x), 20000, analytic_kl=True, generator=g())
    assert (with_kl - lin.marginal().log_prob(x)).abs().max() < 0.01


# ---------------------------------------------------------------- the importance-weighted bound


def test_iwae_bound_rises_with_k_towards_the_log_evidence(model):
    x, ks, reps = X_BIMODAL, [1, 2, 4, 16, 64, 256, 1024], 2000
    best = I.optimal_gaussian(model, torch.tensor([x]))
    q = Normal(best["m"].expand(reps), best["s"].expand(reps))
    log_px = model.log_marginal(torch.tensor(x)).item()
    means, ses = [], []
    with torch.no_grad():
        for k in ks:
            mean, se = mean_and_se(I.iwae_bound(model, x, q, k, generator=g(k)))
            means.append(mean)
            ses.append(se)
    assert abs(means[0] - best["elbo"].item()) < 4 * ses[0]  # L_1 = ELBO
    for a, b, sa, sb in zip(means, means[1:], ses, ses[1:], strict=False):
        assert b - a > -4 * math.hypot(sa, sb)  # non-decreasing, up to sampling error
    assert means[-1] - means[0] > 0.5 * (log_px - means[0])  # and it really rises
    assert all(m < log_px + 4 * s for m, s in zip(means, ses, strict=True))  # a lower bound
    assert abs(log_px - means[-1]) < 0.01  # L_1024 within 0.01 nats of log p(x)


def test_iwae_bound_checks_k(model):
    q = I.variational(0.0, 1.0)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="k"):
            I.iwae_bound(model, 0.0, q, bad)


# ---------------------------------------------------------------- gradient estimators


@pytest.mark.parametrize("estimator", [I.reparam_gradient, I.score_function_gradient])
def test_gradient_estimators_are_unbiased_for_z_squared(estimator):
    m, s = 0.7, 1.3  # E[z²] = m² + s²: ∇_m = 2m, ∇_s = 2s
    grads = estimator(lambda z: z**2, m, s, 200000, generator=g(1))
    for name, exact in (("m", 2 * m), ("s", 2 * s)):
        mean, se = mean_and_se(grads[name])
        assert abs(mean - exact) < 4 * se


@pytest.mark.parametrize("estimator", [I.reparam_gradient, I.score_function_gradient])
def test_gradient_estimators_are_unbiased_for_the_models_log_joint(model, estimator):
    m, s = 0.3, 0.8
    m_t = torch.tensor(m, dtype=torch.float64, requires_grad=True)
    s_t = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    expected = I.elbo_grid(model, X_BIMODAL, m_t, s_t) - 0.5 * torch.log(
        2 * math.pi * math.e * s_t**2)  # E_q[log p(x, z)] by quadrature
    exact = torch.autograd.grad(expected, [m_t, s_t])
    grads = estimator(lambda z: model.log_joint(X_BIMODAL, z), m, s, 100000, generator=g(2))
    for name, ex in zip(("m", "s"), exact, strict=True):
        mean, se = mean_and_se(grads[name])
        assert abs(mean - ex.item()) < 4 * se


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (0.0, 0.5), (1.0, 1.0), (-0.5, 1.5)])
def test_measured_variances_match_the_closed_forms(mu, sigma):
    """q = N(μ, σ²), f(z) = z², ∇_μ: reparameterisation 4σ², score (μ⁴ + 14μ²σ² + 15σ⁴)/σ²."""
    closed = I.quadratic_gradient_variances(mu, sigma)
    n = 400000
    rep = I.reparam_gradient(lambda z: z**2, mu, sigma, n, generator=g(3))["m"].var().item()
    sco = I.score_function_gradient(lambda z: z**2, mu, sigma, n, generator=g(4))["m"].var().item()
    assert rep == pytest.approx(closed["reparam"], rel=0.02)
    assert sco == pytest.approx(closed["score"], rel=0.05)
    if mu == 0:
        assert closed["ratio"] == pytest.approx(3.75)
        assert sco / rep == pytest.approx(3.75, rel=0.05)


# ---------------------------------------------------------------- per-datapoint VI and gaps


def test_optimal_gaussian_beats_a_brute_force_search(model, points):
    x = torch.cat([points[:6], torch.tensor([X_BIMODAL], dtype=torch.float64)])
    best = I.optimal_gaussian(model, x)
    M, S = torch.meshgrid(torch.linspace(-3, 3, 49, dtype=torch.float64),
                          torch.linspace(0.1, 2, 20, dtype=torch.float64), indexing="ij")
    with torch.no_grad():
        for xi, e in zip(x, best["elbo"], strict=True):
            assert I.elbo_grid(model, xi, M, S).max() <= e + 1e-9
        torch.testing.assert_close(best["elbo"], I.elbo_grid(model, x, best["m"], best["s"]))


def test_per_datapoint_vi_converges_to_the_optimum(model, points):
    x = points[:30]
    fit = I.fit_per_datapoint(model, x, steps=300, lr=0.03, n_samples=16)
    best = I.optimal_gaussian(model, x)
    with torch.no_grad():
        reached = I.elbo_grid(model, x, fit["m"], fit["s"])
    assert fit["m_path"].shape == (301, 30) and fit["s_path"].shape == (301, 30)
    assert (reached <= best["elbo"] + 1e-9).all()
    assert (best["elbo"] - reached).max() < 0.05


def test_per_point_optimum_beats_the_encoder_and_the_gaps_add_up(model, points):
    enc = I.train_encoder(model, points, steps=150, lr=0.02)["encoder"]
    gp = I.gaps(model, points, enc)
    assert (gp["approximation"] >= 0).all() and (gp["amortization"] >= -1e-9).all()
    assert gp["amortization"].mean() > 1e-3  # the encoder is worse somewhere
    mean, scale = I.encoder_parameters(enc, points)
    with torch.no_grad():
        torch.testing.assert_close(gp["elbo_encoder"], I.elbo_grid(model, points, mean, scale))
    m_rand = torch.randn(points.shape, generator=g(5), dtype=torch.float64)
    s_rand = torch.rand(points.shape, generator=g(6), dtype=torch.float64) + 0.2
    with torch.no_grad():  # q* is the best Gaussian: no other q beats it
        assert (gp["elbo_optimal"] >= I.elbo_grid(model, points, m_rand, s_rand) - 1e-9).all()


def test_encoder_training_raises_the_elbo_and_leaves_theta_alone(model, points):
    before = {k: v.clone() for k, v in model.parameters().items()}
    path = I.train_encoder(model, points, steps=100, lr=0.02)["elbo_path"]
    assert path[-10:].mean() > path[:10].mean()
    for k, v in model.parameters().items():
        assert torch.equal(v, before[k])
    enc = I.Encoder(hidden=8)
    assert isinstance(enc(points), Normal) and I.count_parameters(enc) == 16 + 72 + 18


def test_training_theta_and_phi_together_raises_the_log_likelihood(points):
    vae_model = lvm.NonlinearLVM(seed=3)
    before = vae_model.log_marginal(points).mean().item()
    I.train_encoder(vae_model, points, steps=150, lr=0.02, train_theta=True)
    with torch.no_grad():
        assert vae_model.log_marginal(points).mean().item() > before + 0.1


# ---------------------------------------------------------------- the linear VAE = pPCA


@pytest.fixture(scope="module")
def digits():
    return I.standardise(data.digits("train", view="grey"))


def exact_ppca_log_likelihood(X, q):
    """Tipping & Bishop's ML solution written out here, independently of vaelib.lvm."""
    N, d = X.shape
    lam, U = torch.linalg.eigh(X.T @ X / N)
    lam, U = lam.flip(0), U.flip(1)
    s2 = lam[q:].mean()
    W = U[:, :q] * (lam[:q] - s2).sqrt()
    C = W @ W.T + s2 * torch.eye(d, dtype=torch.float64)
    return MultivariateNormal(torch.zeros(d, dtype=torch.float64), C).log_prob(X).mean().item()


def test_standardise_gives_zero_mean_and_unit_or_zero_variance(digits):
    torch.testing.assert_close(digits.mean(0), torch.zeros(64, dtype=torch.float64))
    var = digits.var(0, correction=0)
    assert ((var - 1).abs() < 1e-9).logical_or(var == 0).all() and (var == 0).any()


def test_linear_vae_analytic_elbo_reaches_the_ppca_log_likelihood(digits):
    fit = I.fit_linear_vae_analytic(digits, q=2)
    vae, exact = fit["vae"], exact_ppca_log_likelihood(digits, 2)
    ppca = lvm.PPCA.fit(digits, 2)
    assert ppca.log_marginal(digits).mean().item() == pytest.approx(exact, abs=1e-9)
    gap = exact - fit["elbo_per_image"]
    assert 0 <= gap <= 1e-4
    with torch.no_grad():
        v = vae.log_v.exp().sort().values
        exact_var = torch.linalg.eigvalsh(ppca.posterior(digits[:1]).covariance_matrix[0])
        torch.testing.assert_close(v, exact_var, rtol=1e-3, atol=0)
        # ELBO <= log p_θ(x) for the VAE's own decoder, image by image
        assert (vae.elbo_analytic(digits) <= vae.marginal().log_prob(digits) + 1e-9).all()


def test_linear_vae_elbo_is_exact_when_the_encoder_is_the_posterior(digits):
    """Set θ to pPCA's ML solution and φ to its exact posterior: ELBO = log p(x) row by row."""
    ppca = lvm.PPCA.fit(digits, 2)
    vae = I.LinearVAE(64, 2)
    M = ppca.W.T @ ppca.W + ppca.sigma2 * torch.eye(2, dtype=torch.float64)  # diagonal here
    with torch.no_grad():
        vae.W.copy_(ppca.W)
        vae.mu.copy_(ppca.mu)
        vae.log_sigma2.copy_(ppca.sigma2.log())
        vae.V.copy_(torch.linalg.solve(M, ppca.W.T))
        vae.c.zero_()
        vae.log_v.copy_((ppca.sigma2 / M.diagonal()).log())
        torch.testing.assert_close(vae.elbo_analytic(digits), ppca.log_marginal(digits))
        torch.testing.assert_close(vae.mean_elbo_analytic(digits), vae.elbo_analytic(digits).mean())
        post = vae.posterior(digits[:5])
        torch.testing.assert_close(post.mean, ppca.posterior(digits[:5]).mean)


def test_linear_vae_sampled_elbo_is_unbiased_for_the_analytic_one(digits):
    vae = I.LinearVAE(64, 2, seed=1)
    with torch.no_grad():
        draws = vae.elbo_sampled(digits[:3].repeat(5000, 1), 1, generator=g()).reshape(5000, 3)
        exact = vae.elbo_analytic(digits[:3])
    for j in range(3):
        mean, se = mean_and_se(draws[:, j])
        assert abs(mean - exact[j].item()) < 4 * se


def test_linear_vae_sampled_training_approaches_the_exact_log_likelihood(digits):
    fit = I.fit_linear_vae_sampled(digits, q=2, steps=300, batch_size=100)
    with torch.no_grad():
        reached = fit["vae"].elbo_analytic(digits).mean().item()
    gap = exact_ppca_log_likelihood(digits, 2) - reached
    assert 0 <= gap < 0.5  # 300 steps here; the notebook's 1000 steps reach <= 0.02


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,name", [
    (lambda m: I.variational(0.0, -1.0), "s"),
    (lambda m: I.variational(float("nan"), 1.0), "m"),
    (lambda m: I.elbo(m, 0.0, I.variational(0.0, 1.0), 0), "n_samples"),
    (lambda m: I.elbo(m, float("inf"), I.variational(0.0, 1.0)), "x"),
    (lambda m: I.elbo(m, 0.0, "q"), "q"),
    (lambda m: I.iwae_bound(m, 0.0, I.variational(0.0, 1.0), 4, n_outer=0), "n_outer"),
    (lambda m: I.elbo_grid(m, 0.0, 0.0, 0.001), "s"),
    (lambda m: I.kl_to_posterior_grid(m, "x", 0.0, 1.0), "x"),
    (lambda m: I.reparam_gradient(lambda z: z, 0.0, 0.0), "s"),
    (lambda m: I.score_function_gradient(lambda z: z, 0.0, 1.0, n_samples=0), "n_samples"),
    (lambda m: I.quadratic_gradient_variances(0.0, -2.0), "sigma"),
    (lambda m: I.fit_per_datapoint(m, [0.0, 1.0], lr=-1.0), "lr"),
    (lambda m: I.fit_per_datapoint(m, [0.0, 1.0], steps=0), "steps"),
    (lambda m: I.optimal_gaussian(m, [0.0, float("nan")]), "x"),
    (lambda m: I.train_encoder(m, [[0.0, 1.0]]), "x"),
    (lambda m: I.Encoder(hidden=0), "hidden"),
    (lambda m: I.standardise(torch.zeros(5)), "X"),
    (lambda m: I.LinearVAE(64, 2).elbo_analytic(torch.zeros(3, 10)), "x"),
    (lambda m: I.fit_linear_vae_analytic(torch.zeros(5, 3), q=0), "q"),
    (lambda m: I.fit_linear_vae_sampled(torch.zeros(5, 3), batch_size=0), "batch_size"),
])
def test_bad_input_names_the_argument(model, call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call(model)


def test_a_model_with_an_uneven_grid_is_refused():
    class Uneven:
        grid = torch.tensor([0.0, 0.1, 0.5, 0.6])

    with pytest.raises(ValueError, match="model.grid"):
        I.log_marginal_grid(Uneven(), 0.0)
