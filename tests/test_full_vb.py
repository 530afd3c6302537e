"""vaelib.full_vb: θ as a random variable on the linear-Gaussian model. The model at a batch of w
against one LinearGaussianLVM per w; log p_α(X) by quadrature against Monte Carlo from the
hyperprior; the symmetry in ±w; the reparameterised bound against its quadrature; the fit against
the exact posterior on w > 0 and the encoder against the closed-form posterior of z."""

import math

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


def test_with_an_encoder_q_phi_z_given_x_finds_the_exact_posterior_of_z_at_the_fitted_w():
    """p_w(z|x) = N(w (x - b) / (w² + σ²), σ² / (w² + σ²)) (lesson 02's closed form), at w = m."""
    f = full_vb.FullVB(_data(400), b=0.3, sigma=0.5, encoder=True)
    f.fit(steps=800, lr=0.1, n_samples=32)
    m = f.lam["m"].detach()
    post = LinearGaussianLVM(0.0, 1.0, m, 0.3, 0.5).posterior(f.x)
    q = f.encoder(f.x)
    assert (q.loc - post.loc).abs().max() < 0.05 and (q.scale / post.scale - 1).abs().max() < 0.05
