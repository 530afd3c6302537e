"""vaelib.full_vb: θ as a random variable on the linear-Gaussian model. The model at a batch of w
against one LinearGaussianLVM per w; log p_α(X) by quadrature against Monte Carlo from the
hyperprior; the symmetry in ±w; the reparameterised bound against its quadrature; the fit against
the exact posterior on w > 0 and the encoder against the mean-field optimum for z."""

import math

import numpy as np
import torch

from vaelib import full_vb, posterior
from vaelib.joint import LinearGaussianLVM

F64 = torch.float64


def _data(n, seed=0):
    _, x = LinearGaussianLVM(0.0, 1.0, 1.2, 0.3, 0.5).sample(n, generator=torch.Generator().manual_seed(seed))
    return x


def test_a_batch_of_w_gives_what_one_model_per_w_gives():
    f = full_vb.FullVB(_data(30), b=0.3, sigma=0.5)
    ws = torch.tensor([[-1.5, 0.0], [0.4, 2.2]], dtype=F64)
    one_by_one = torch.stack([LinearGaussianLVM(0.0, 1.0, w, 0.3, 0.5).marginal().log_prob(f.x).sum()
                              for w in ws.flatten()]).view(2, 2)
    torch.testing.assert_close(f.log_evidence(ws), one_by_one)
    torch.testing.assert_close(f.log_evidence(ws[0, 0]), one_by_one[0, 0])


def test_evidence_by_quadrature_is_the_monte_carlo_average_over_the_hyperprior_and_symmetric():
    f = full_vb.FullVB(_data(4), alpha=1.5, b=0.3, sigma=0.5)
    exact = posterior.posterior(f, f.x).log_normaliser
    w = 1.5 * torch.randn(400000, dtype=F64, generator=torch.Generator().manual_seed(0))  # w ~ p_α(w)
    values = f.log_evidence(w)
    mc = torch.logsumexp(values, 0) - math.log(len(w))
    se = (values - values.max()).exp().std() / (values - values.max()).exp().mean() / math.sqrt(len(w))
    assert abs(exact.item() - mc.item()) < 4 * se.item() + 1e-4
    half = posterior.posterior(f.on_grid(f.grid[f.grid > 0]), f.x).log_normaliser
    assert abs(exact.item() - (half.item() + math.log(2))) < 1e-6  # p_α(w|X) is symmetric in ±w


def test_the_reparameterised_bound_averages_to_the_quadrature_bound_below_the_evidence():
    f = full_vb.FullVB(_data(50), b=0.3, sigma=0.5)
    with torch.no_grad():
        f.lam["m"].fill_(1.1)
        f.lam["log_s"].fill_(math.log(0.15))
        draws = torch.stack([f.bound(1, torch.Generator().manual_seed(i)) for i in range(4000)])
    exact = f.exact_bound()
    assert abs(draws.mean().item() - exact.item()) < 4 * draws.std().item() / math.sqrt(4000)
    log_evidence = posterior.posterior(f, f.x).log_normaliser
    assert exact < log_evidence - math.log(2) + 0.05  # q sits on one of two mirror-image modes


def test_the_fitted_q_matches_the_exact_posterior_on_the_positive_half_line():
    f = full_vb.FullVB(_data(400), b=0.3, sigma=0.5)
    f.fit(steps=800, lr=0.1, n_samples=32)
    exact = posterior.posterior(f.on_grid(f.grid[f.grid > 0]), f.x)
    m, s = f.lam["m"].item(), f.lam["log_s"].exp().item()
    assert abs(m - exact.mean.item()) < 0.1 * exact.std.item()
    assert abs(s / exact.std.item() - 1) < 0.1


def _mean_field_by_quadrature(f, m, s, x):
    """q(z|x) ∝ exp E_{N(w; m, s²)} log p(x, z | w), on a z grid (Gauss-Hermite in w): its mean and sd."""
    zeta, weight = (torch.from_numpy(a) for a in np.polynomial.hermite_e.hermegauss(40))
    z = torch.linspace(-4, 4, 4001, dtype=F64)
    weight = weight / weight.sum()
    expected = sum(wt * f.model(m + s * zt).log_joint(x, z) for zt, wt in zip(zeta, weight, strict=True))
    q = torch.softmax(expected, 0)
    mean = (z * q).sum()
    return mean, ((z - mean) ** 2 * q).sum().sqrt()


def test_the_mean_field_optimum_has_precision_1_plus_m2_plus_s2_over_sigma2():
    """Given q_λ(w) = N(m, s²): q(z|x) = N(m (x - b)/σ² / P, 1/P), P = 1 + (m² + s²)/σ² (full_vb's
    docstring), against quadrature of E_q(w) log p(x, z | w) with LinearGaussianLVM's log-density."""
    f = full_vb.FullVB(_data(5), b=0.3, sigma=0.5)
    for m, s, x in ((1.1, 0.3, 0.7), (-0.4, 0.8, -1.2)):
        precision = 1 + (m**2 + s**2) / 0.25
        mean, sd = _mean_field_by_quadrature(f, m, s, torch.tensor(x, dtype=F64))
        assert abs(mean.item() - m * (x - 0.3) / 0.25 / precision) < 1e-8
        assert abs(sd.item() - precision**-0.5) < 1e-8


def test_two_modes_exactly_when_the_mean_square_exceeds_sigma2_times_1_plus_sigma2_over_n_alpha2():
    """The posterior over w has its maximum off 0 iff (1/N) Σ (x_i - b)² > σ² (1 + σ²/(N α²))."""
    for scale, two in ((0.45, False), (0.55, True)):       # x - b = ±scale: mean square scale²
        x = 0.3 + scale * torch.tensor([1.0, -1.0] * 10, dtype=F64)
        f = full_vb.FullVB(x, alpha=2.0, b=0.3, sigma=0.5)
        assert (scale**2 > 0.25 * (1 + 0.25 / (20 * 4.0))) == two
        density = posterior.posterior(f, f.x).density
        peak = f.grid[density.argmax()].abs().item()
        assert (peak > 0.05) == two


def test_with_an_encoder_q_phi_z_given_x_finds_the_mean_field_optimum_given_q_lambda_w():
    """At the optimum of L(λ, φ), q_φ(z|x) is the mean-field optimum given q_λ(w) (the linear
    encoder can represent it), not the exact posterior at w = m (they differ by s²/σ² in precision)."""
    f = full_vb.FullVB(_data(400), b=0.3, sigma=0.5, encoder=True)
    f.fit(steps=800, lr=0.1, n_samples=32)
    m, s = f.lam["m"].detach(), f.lam["log_s"].exp().detach()
    for x in (-1.0, 0.3, 2.0):
        x = torch.tensor(x, dtype=F64)
        mean, sd = _mean_field_by_quadrature(f, m, s, x)
        q = f.encoder(x)
        assert abs(q.loc.item() - mean.item()) < 0.05 and abs(q.scale.item() / sd.item() - 1) < 0.05
