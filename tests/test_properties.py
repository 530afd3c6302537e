"""Property-based tests (hypothesis) of vaelib's mathematics, over random models and random q.

    ELBO(q) <= log p_θ(x), and log p_θ(x) - ELBO(q) = KL(q ‖ p_θ(z|x)) >= 0
    closed-form marginal and posterior of the linear-Gaussian model = quadrature on a grid
    L_K (importance-weighted bound) non-decreasing in K, L_1 = ELBO, L_K -> log p_θ(x)

The linear-Gaussian model of lesson 02: z ~ N(μ_z, s_z²), x|z ~ N(w z + b, σ²),
    p_θ(x) = N(x; w μ_z + b, w² s_z² + σ²),
    p_θ(z|x) = N(z; μ_z + k (x - w μ_z - b), (1 - k w) s_z²),  k = w s_z² / (w² s_z² + σ²).
Every draw is deterministic (derandomize=True, no example database) and bounded in number.
"""

import math

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vaelib import data, elbo, encoder, joint, linear_vae, per_datapoint, posterior, vae
from vaelib.ppca import PPCA

PROPERTY = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(PROPERTY, max_examples=12)
GRID = torch.linspace(-100.0, 100.0, 20001, dtype=torch.float64)  # step 0.01


def real(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


class LinearGaussian:
    """z ~ N(μ_z, s_z²), x|z ~ N(w z + b, σ²), θ = (μ_z, s_z, w, b, σ); float64; the protocol of
    vaelib.elbo and vaelib.posterior (prior, likelihood, log_joint, grid, posterior)."""

    def __init__(self, mu_z, s_z, w, b, sigma):
        self.theta = {k: torch.tensor(v, dtype=torch.float64)
                      for k, v in dict(mu_z=mu_z, s_z=s_z, w=w, b=b, sigma=sigma).items()}
        self.mu_z, self.s_z, self.w, self.b, self.sigma = self.theta.values()
        self.grid = GRID

    def prior(self) -> Normal:
        return Normal(self.mu_z, self.s_z)

    def likelihood(self, z) -> Normal:
        return Normal(self.w * z + self.b, self.sigma)

    def log_joint(self, x, z):
        return self.prior().log_prob(z) + self.likelihood(z).log_prob(x)

    def marginal(self) -> Normal:
        return Normal(self.w * self.mu_z + self.b, (self.w**2 * self.s_z**2 + self.sigma**2).sqrt())

    def posterior(self, x) -> Normal:
        k = self.w * self.s_z**2 / (self.w**2 * self.s_z**2 + self.sigma**2)
        mean = self.mu_z + k * (x - self.w * self.mu_z - self.b)
        return Normal(mean, ((1 - k * self.w) * self.s_z**2).sqrt())


def closed_form_elbo(model: LinearGaussian, x, q: Normal):
    """ELBO = E_q[log p(x|z)] - KL(q ‖ p(z)),
    E_q[log p(x|z)] = -½ log 2πσ² - ((x - w m - b)² + w² s²) / 2σ²."""
    m, s = q.loc, q.scale
    expected = (-0.5 * torch.log(2 * math.pi * model.sigma**2)
                - ((x - model.w * m - model.b) ** 2 + model.w**2 * s**2) / (2 * model.sigma**2))
    return expected - kl_divergence(q, model.prior())


@st.composite
def model_x_q(draw):
    """A random linear-Gaussian model, an x from its marginal (within 3 sd) and a random
    q = N(m, s²) around the posterior (m within 3 posterior sd, s from 0.37 to 2.7 times it)."""
    model = LinearGaussian(draw(real(-3, 3)), draw(real(0.2, 3)), draw(real(-3, 3)),
                           draw(real(-3, 3)), draw(real(0.2, 3)))
    marginal = model.marginal()
    x = marginal.mean + marginal.stddev * draw(real(-3, 3))
    post = model.posterior(x)
    m = post.mean + post.stddev * draw(real(-3, 3))
    s = post.stddev * math.exp(draw(real(-1, 1)))
    return model, x, Normal(m, s)


# ELBO <= log p(x), KL >= 0 -------------------------------------------------------------------


@PROPERTY
@given(model_x_q())
def test_vaelib_quadrature_elbo_matches_closed_form(case):
    model, x, q = case
    exact = closed_form_elbo(model, x, q)
    grid = elbo.elbo_grid(model, x, q.loc, q.scale)
    assert torch.isclose(grid, exact, rtol=1e-7, atol=1e-7), (grid, exact)
    assert grid <= posterior.log_marginal(model, x) + 1e-9


@PROPERTY
@given(model_x_q())
def test_vaelib_quadrature_kl_to_posterior(case):
    model, x, q = case
    kl = elbo.kl_to_posterior_grid(model, x.item(), q.loc, q.scale)
    assert kl >= -1e-9
    assert torch.isclose(kl, kl_divergence(q, model.posterior(x)), rtol=1e-6, atol=1e-7)


@FEW
@given(model_x_q(), st.integers(0, 2**31 - 1))
def test_vaelib_sampled_elbo_is_unbiased_and_below_evidence(case, seed):
    """elbo() with S samples: mean within 6 standard errors of the closed form (both estimators)."""
    model, x, q = case
    exact = closed_form_elbo(model, x, q)
    replicas = Normal(q.loc.expand(4000), q.scale.expand(4000))  # 4000 independent one-sample runs
    for analytic_kl in (True, False):
        g = torch.Generator().manual_seed(seed)
        per_sample = elbo.elbo(model, x, replicas, 1, analytic_kl, g)
        est, se = per_sample.mean(), per_sample.std() / math.sqrt(len(per_sample))
        assert abs(est - exact) <= 6 * se + 1e-9, (analytic_kl, est, exact, se)
    assert exact <= model.marginal().log_prob(x)


# Closed forms against quadrature ------------------------------------------------------------


@PROPERTY
@given(model_x_q())
def test_closed_form_posterior_and_marginal_against_quadrature(case):
    model, x, _ = case
    joint = model.log_joint(x, GRID).exp()  # p(x, z) on the grid
    step = (GRID[1] - GRID[0]).item()
    evidence = torch.trapezoid(joint, GRID)
    mean = torch.trapezoid(GRID * joint, GRID) / evidence
    sd = (torch.trapezoid((GRID - mean) ** 2 * joint, GRID) / evidence).sqrt()
    post = model.posterior(x)
    assert torch.isclose(evidence.log(), model.marginal().log_prob(x), rtol=1e-9, atol=1e-9)
    assert torch.isclose(mean, post.mean, rtol=1e-8, atol=1e-8)
    assert torch.isclose(sd, post.stddev, rtol=1e-8, atol=1e-9)
    # vaelib's grid functions give the same numbers
    grid_post = posterior.posterior(model, x)
    qmean, qsd = grid_post.mean, grid_post.std
    assert torch.isclose(qmean, post.mean, rtol=1e-8, atol=1e-8)
    assert torch.isclose(qsd, post.stddev, rtol=1e-7, atol=1e-9)
    log_px = posterior.log_marginal(model, x)
    assert torch.isclose(log_px, model.marginal().log_prob(x), rtol=1e-9, atol=1e-9), step


# The importance-weighted bound -------------------------------------------------------------


@FEW
@given(model_x_q(), st.integers(0, 2**31 - 1))
def test_iwae_non_decreasing_in_k_on_shared_samples(case, seed):
    """With the same N = n_outer·K draws (same seed), pairing them up can only raise the estimate:
    log ½(w₁ + w₂) >= ½(log w₁ + log w₂) (Jensen), so L_2K >= L_K sample by sample. A check of how
    iwae_bound groups its draws, not evidence that E[L_K] rises with K: that is the next test."""
    model, x, q = case
    total = 1024
    bounds = []
    for k in (1, 2, 4, 8, 16, 64, 256, 1024):
        g = torch.Generator().manual_seed(seed)
        bounds.append(elbo.iwae_bound(model, x, q, k, n_outer=total // k, generator=g))
    bounds = torch.stack(bounds)
    assert (bounds.diff() >= -1e-9).all(), bounds
    if kl_divergence(q, model.posterior(x)) > 1e-3:  # unequal weights: Jensen is strict
        assert bounds[-1] > bounds[0], bounds


@FEW
@given(model_x_q(), st.integers(0, 2**31 - 1))
def test_iwae_expected_bound_rises_towards_the_evidence(case, seed):
    """Independent estimates of E[L_K] with their standard errors: L_1 agrees with the ELBO,
    E[L_K] <= E[L_4K] and every L_K <= log p(x), up to 5 standard errors."""
    model, x, q = case
    log_px = model.marginal().log_prob(x)
    g = torch.Generator().manual_seed(seed)
    replicas = Normal(q.loc.expand(2000), q.scale.expand(2000))  # 2000 independent estimates
    estimates = []
    for k in (1, 4, 16, 64):
        draws = elbo.iwae_bound(model, x, replicas, k, generator=g)
        estimates.append((draws.mean(), draws.std() / math.sqrt(len(draws))))
    (l1, se1) = estimates[0]
    assert abs(l1 - closed_form_elbo(model, x, q)) <= 5 * se1 + 1e-9
    for (lo, se_lo), (hi, se_hi) in zip(estimates[:-1], estimates[1:], strict=True):
        assert lo <= hi + 5 * math.hypot(se_lo, se_hi) + 1e-9
    for est, se in estimates:
        assert est <= log_px + 5 * se + 1e-9


@PROPERTY
@given(model_x_q(), st.sampled_from([1, 3, 50]), st.integers(0, 2**31 - 1))
def test_iwae_with_the_exact_posterior_is_the_evidence(case, k, seed):
    """q = p_θ(z|x): every weight p(x, z)/q(z) equals p(x), so L_K = log p(x) for every K."""
    model, x, _ = case
    g = torch.Generator().manual_seed(seed)
    bound = elbo.iwae_bound(model, x, model.posterior(x), k, n_outer=3, generator=g)
    assert torch.isclose(bound, model.marginal().log_prob(x), rtol=1e-9, atol=1e-9)


# Linear VAE = pPCA: ELBO <= log p(x) for any parameters -------------------------------------


@FEW
@given(st.integers(2, 5), st.integers(1, 2), st.integers(0, 10_000), real(0.1, 2))
def test_linear_vae_elbo_below_exact_log_likelihood(d, q, seed, spread):
    linear = linear_vae.LinearVAE(d, q, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in linear.parameters():
            p.copy_(spread * torch.randn(p.shape, generator=g, dtype=torch.float64))
    X = torch.randn(7, d, generator=g, dtype=torch.float64) * 2
    with torch.no_grad():
        bound = linear.elbo_analytic(X)
        log_px = linear.marginal().log_prob(X)
        enc = linear.encoder(X)
        q_full = MultivariateNormal(enc.mean, torch.diag_embed(enc.variance))
        kl = kl_divergence(q_full, linear.posterior(X))
    assert (kl >= -1e-10).all() and (bound <= log_px + 1e-9).all()
    assert torch.allclose(log_px - bound, kl, rtol=1e-7, atol=1e-8)


# One Gaussian: the closed-form MLE maximises the log-likelihood ----------------------------


def lvm_pair(model: LinearGaussian):
    """The same θ as vaelib.lvm's closed-form model and as its quadrature model (f linear)."""
    theta = model.theta
    closed = joint.LinearGaussianLVM(**theta)
    quadrature = joint.NonlinearLVM(f=lambda z: theta["w"] * z + theta["b"], sigma=theta["sigma"],
                                  mu_z=theta["mu_z"], s_z=theta["s_z"], grid=GRID)
    return closed, quadrature


@PROPERTY
@given(model_x_q())
def test_lvm_linear_gaussian_closed_forms(case):
    """vaelib.lvm's marginal and posterior = the closed forms above; Bayes' rule holds:
    log p(z|x) = log p(z) + log p(x|z) - log p(x) at any z."""
    model, x, q = case
    closed, _ = lvm_pair(model)
    for mine, theirs in ((model.marginal(), closed.marginal()),
                         (model.posterior(x), closed.posterior(x))):
        assert torch.isclose(theirs.mean, mine.mean, rtol=1e-10, atol=1e-10)
        assert torch.isclose(theirs.stddev, mine.stddev, rtol=1e-10, atol=1e-12)
    z = q.loc  # any point
    bayes = (closed.prior().log_prob(z) + closed.likelihood(z).log_prob(x)
             - closed.marginal().log_prob(x))
    assert torch.isclose(closed.posterior(x).log_prob(z), bayes, rtol=1e-9, atol=1e-9)
    assert torch.isclose(closed.log_joint(x, z), model.log_joint(x, z), rtol=1e-12, atol=1e-12)


@PROPERTY
@given(model_x_q())
def test_lvm_quadrature_matches_closed_form_when_f_is_linear(case):
    """NonlinearLVM with f(z) = w z + b: its grid marginal and posterior = the closed forms."""
    model, x, _ = case
    closed, quadrature = lvm_pair(model)
    post, exact = quadrature.posterior(x), closed.posterior(x)
    assert torch.isclose(quadrature.log_marginal(x), closed.marginal().log_prob(x), rtol=1e-9,
                         atol=1e-9)
    assert torch.isclose(post.mean, exact.mean, rtol=1e-8, atol=1e-8)
    assert torch.isclose(post.std, exact.stddev, rtol=1e-7, atol=1e-9)


@FEW
@given(st.integers(0, 50), real(-2.5, 2.5), real(-1, 1), real(-1.5, 1), st.integers(0, 2**31 - 1))
def test_nonlinear_lvm_bounds(seed, x, dm, log_ds, sample_seed):
    """The lesson-02 MLP decoder (non-Gaussian posterior): for a random q, exact ELBO <= log p(x)
    (both by quadrature), the gap is KL(q ‖ p(z|x)) >= 0, and L_K on shared samples rises with K
    and stays below log p(x) up to sampling noise."""
    model = joint.NonlinearLVM(seed=seed, sigma=0.5)
    post = model.posterior(x)
    m = post.mean + dm * post.std
    s = post.std * math.exp(log_ds)
    s = max(s.item(), 2.5 * model.dz)
    log_px = model.log_marginal(x)
    bound = elbo.elbo_grid(model, x, m, s)
    kl = elbo.kl_to_posterior_grid(model, x, m, s)
    assert bound <= log_px + 1e-9 and kl >= -1e-9
    assert torch.isclose(log_px - bound, kl, rtol=1e-4, atol=1e-5)
    q = Normal(torch.as_tensor(m, dtype=torch.float64), torch.tensor(s, dtype=torch.float64))
    bounds = torch.stack([elbo.iwae_bound(model, x, q, k, n_outer=512 // k,
                                               generator=torch.Generator().manual_seed(sample_seed))
                          for k in (1, 2, 8, 32, 128, 512)])
    assert (bounds.diff() >= -1e-9).all(), bounds


@st.composite
def ppca_data(draw):
    d = draw(st.integers(2, 5))
    q = draw(st.integers(1, d - 1))
    seed = draw(st.integers(0, 10_000))
    g = torch.Generator().manual_seed(seed)
    n = draw(st.integers(d + 2, 40))
    f64 = dict(generator=g, dtype=torch.float64)
    W = torch.randn(d, q, **f64) * draw(real(0.3, 3))
    mu = 3 * torch.randn(d, **f64)
    X = torch.randn(n, q, **f64) @ W.T + mu + draw(real(0.05, 1)) * torch.randn(n, d, **f64)
    return X, q, seed


@PROPERTY
@given(ppca_data(), real(1e-3, 0.3))
def test_ppca_fit_maximises_the_likelihood(case, size):
    """Tipping & Bishop's closed-form θ = (W, μ, σ²): any perturbation lowers Σ_n log p(x_n)."""
    X, q, seed = case
    fit = PPCA.fit(X, q)
    best = fit.log_marginal(X).sum()
    g = torch.Generator().manual_seed(seed + 1)
    dW, dmu = torch.randn(fit.W.shape, generator=g, dtype=torch.float64), \
        torch.randn(fit.mu.shape, generator=g, dtype=torch.float64)
    ds = torch.randn((), generator=g, dtype=torch.float64)
    moved = PPCA(fit.W + size * dW, fit.mu + size * dmu, fit.sigma2 * (size * ds).exp())
    assert moved.log_marginal(X).sum() < best
    # W is identified only up to a rotation R: W R gives the same marginal
    R, _ = torch.linalg.qr(torch.randn(q, q, generator=g, dtype=torch.float64))
    rotated = PPCA(fit.W @ R, fit.mu, fit.sigma2)
    assert torch.allclose(rotated.log_marginal(X), fit.log_marginal(X), rtol=1e-9, atol=1e-9)


@PROPERTY
@given(ppca_data())
def test_ppca_posterior_is_gaussian_conditioning(case):
    """p(z|x) from conditioning the joint N([0; μ], [[I, Wᵀ], [W, C]]):
    mean Wᵀ C⁻¹ (x - μ), covariance I - Wᵀ C⁻¹ W; equal to pPCA's M⁻¹ form."""
    X, q, _ = case
    fit = PPCA.fit(X, q)
    C = fit.covariance
    gain = torch.linalg.solve(C, fit.W).T  # Wᵀ C⁻¹
    post = fit.posterior(X)
    assert torch.allclose(post.mean, (X - fit.mu) @ gain.T, rtol=1e-8, atol=1e-9)
    cov = torch.eye(q, dtype=torch.float64) - gain @ fit.W
    assert torch.allclose(post.covariance_matrix[0], cov, rtol=1e-7, atol=1e-10)


# vaelib.vae: the importance-weighted estimate of log p_θ(x) ---------------------------------


@settings(PROPERTY, max_examples=3)
@given(st.integers(0, 1000), st.sampled_from(["bernoulli", "gaussian"]))
def test_vae_iwae_rises_with_k_from_the_elbo(seed, decoder):
    """An untrained VAE (q far from the posterior, so the gaps are large): over 300 independent
    replicas, mean L_1 = mean SGVB ELBO, and mean L_K rises with K = 1, 8, 64."""
    model = vae.make_vae(decoder, z_dim=2, hidden=(16,), seed=seed).double()
    x = data.digits("val", "binary")[:2].double()
    if decoder == "gaussian":
        x = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed),
                                  dtype=torch.float64)
    reps = x.repeat(300, 1)
    g = torch.Generator().manual_seed(seed)
    means, ses = [], []
    for k in (1, 8, 64):
        est = model.log_marginal(reps, K=k, generator=g).reshape(300, 2)
        means.append(est.mean(0))
        ses.append(est.std(0) / math.sqrt(300))
    with torch.no_grad():
        bound = model.elbo(reps, generator=g).reshape(300, 2)
    elbo_mean, elbo_se = bound.mean(0), bound.std(0) / math.sqrt(300)
    assert (abs(means[0] - elbo_mean) <= 5 * (ses[0] ** 2 + elbo_se**2).sqrt() + 1e-9).all()
    for lo, hi, se_lo, se_hi in zip(means[:-1], means[1:], ses[:-1], ses[1:], strict=True):
        assert (lo <= hi + 5 * (se_lo**2 + se_hi**2).sqrt()).all(), (lo, hi)
    assert (means[-1] > means[0]).all()


# Gaps (Cremer, Li & Duvenaud 2018): both >= 0; with a Gaussian posterior q* is the posterior ---


@FEW
@given(real(-1, 1), real(0.5, 2), real(-2, 2), real(-1, 1), real(0.3, 1), real(-2, 2))
def test_optimal_gaussian_is_the_posterior_when_that_is_gaussian(mu_z, s_z, w, b, sigma, u):
    """f linear: p_θ(z|x) is Gaussian, so q* = p_θ(z|x) and the approximation gap is 0."""
    theta = dict(mu_z=mu_z, s_z=s_z, w=w, b=b, sigma=sigma)
    closed = joint.LinearGaussianLVM(**{k: torch.tensor(v, dtype=torch.float64)
                                      for k, v in theta.items()})
    model = joint.NonlinearLVM(f=lambda z: w * z + b, sigma=sigma, mu_z=mu_z, s_z=s_z)
    marginal = closed.marginal()
    x = (marginal.mean + u * marginal.stddev).reshape(1)
    best = per_datapoint.optimal_gaussian(model, x)
    post = closed.posterior(x)
    assert torch.allclose(best["m"], post.mean, rtol=1e-5, atol=1e-5), (best, post)
    assert torch.allclose(best["s"], post.stddev, rtol=1e-5, atol=1e-6), (best, post)
    gap = model.log_marginal(x) - best["elbo"]
    assert (gap.abs() < 1e-6).all(), gap
    g = encoder.gaps(model, x, encoder.ScalarEncoder(seed=0))
    assert (g["approximation"].abs() < 1e-6).all(), g["approximation"]
    assert (g["amortization"] >= -1e-9).all(), g["amortization"]


@FEW
@given(st.integers(0, 100), st.integers(0, 100), real(0.2, 0.8))
def test_gaps_are_nonnegative_and_q_star_beats_any_other_gaussian(model_seed, encoder_seed, sigma):
    """Lesson 02's MLP decoder, an untrained encoder: approximation gap >= 0, amortization gap >= 0
    (q* beats the encoder's q for every x), and q* beats any other Gaussian too. (That the gaps add
    up is checked against independent routes in test_encoder.)"""
    model = joint.NonlinearLVM(seed=model_seed, sigma=sigma)
    _, x = model.sample(6, generator=torch.Generator().manual_seed(model_seed))
    g = encoder.gaps(model, x, encoder.ScalarEncoder(seed=encoder_seed))
    assert (g["approximation"] >= -1e-7).all(), g["approximation"]
    assert (g["amortization"] >= -1e-7).all(), g["amortization"]
    other = torch.Generator().manual_seed(encoder_seed)
    m = torch.randn(x.shape, generator=other, dtype=torch.float64)
    s = torch.rand(x.shape, generator=other, dtype=torch.float64) + 0.2
    with torch.no_grad():
        assert (g["elbo_optimal"] >= elbo.elbo_grid(model, x, m, s) - 1e-7).all()
