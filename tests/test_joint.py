"""vaelib.joint against independent computations: quadrature written here with torch.trapezoid,
Monte Carlo, direct Gaussian conditioning and torch.distributions."""

import math

import pytest
import torch
from torch.distributions import Normal

from vaelib import joint
from vaelib.joint import DecoderNet

THETAS = [dict(mu_z=0.0, s_z=1.0, w=1.0, b=0.0, sigma=0.5),
          dict(mu_z=0.7, s_z=1.3, w=-1.6, b=0.4, sigma=0.3),
          dict(mu_z=-1.2, s_z=0.5, w=0.2, b=-2.0, sigma=1.5)]
Z = torch.linspace(-30, 30, 60001, dtype=torch.float64)  # fine grid for the tests' own quadrature


def model64(theta):
    return joint.LinearGaussianLVM(**{k: torch.tensor(v, dtype=torch.float64) for k, v in theta.items()})


# ---------------------------------------------------------------------------- linear-Gaussian

def test_prior_and_likelihood_are_torch_normals_with_the_hand_written_densities():
    m = joint.LinearGaussianLVM(0.5, 2.0, 1.5, -1.0, 0.8)
    z = torch.tensor([-1.0, 0.0, 2.5])
    assert isinstance(m.prior(), Normal) and isinstance(m.likelihood(z), Normal)
    prior_by_hand = -0.5 * math.log(2 * math.pi) - math.log(2.0) - (z - 0.5) ** 2 / (2 * 4.0)
    torch.testing.assert_close(m.prior().log_prob(z), prior_by_hand)
    x = torch.tensor(0.3)
    lik_by_hand = (-0.5 * math.log(2 * math.pi) - math.log(0.8)
                   - (x - (1.5 * z - 1.0)) ** 2 / (2 * 0.64))
    torch.testing.assert_close(m.likelihood(z).log_prob(x), lik_by_hand)
    assert m.likelihood(z).batch_shape == (3,)


@pytest.mark.parametrize("theta", THETAS)
def test_marginal_equals_the_integral_of_the_joint_over_z(theta):
    m = model64(theta)
    x = torch.tensor([-3.0, -0.5, 0.0, 1.0, 4.0], dtype=torch.float64)
    joint = m.log_joint(x.unsqueeze(-1), Z).exp()  # (5, G)
    by_quadrature = torch.trapezoid(joint, Z, dim=-1)
    torch.testing.assert_close(m.marginal().log_prob(x).exp(), by_quadrature, rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("theta", THETAS)
def test_marginal_matches_monte_carlo_moments(theta):
    m = model64(theta)
    _, x = m.sample(200_000, torch.Generator().manual_seed(1))
    p = m.marginal()
    se_mean = p.scale.item() / math.sqrt(len(x))
    assert abs(x.mean().item() - p.mean.item()) < 5 * se_mean
    assert abs(x.std().item() / p.scale.item() - 1) < 0.01


@pytest.mark.parametrize("theta", THETAS)
def test_posterior_is_joint_over_marginal_by_quadrature(theta):
    m = model64(theta)
    x = torch.tensor(1.3, dtype=torch.float64)
    joint = m.log_joint(x, Z).exp()
    bayes = joint / torch.trapezoid(joint, Z)
    q = m.posterior(x)
    torch.testing.assert_close(q.log_prob(Z).exp(), bayes, rtol=1e-8, atol=1e-12)
    mean = torch.trapezoid(Z * bayes, Z)
    var = torch.trapezoid((Z - mean) ** 2 * bayes, Z)
    torch.testing.assert_close(q.mean, mean)
    torch.testing.assert_close(q.variance, var)


@pytest.mark.parametrize("theta", THETAS)
def test_posterior_mean_matches_self_normalised_importance_sampling(theta):
    m = model64(theta)
    x = torch.tensor(0.8, dtype=torch.float64)
    z, _ = m.sample(400_000, torch.Generator().manual_seed(2))  # z from the prior
    weights = torch.softmax(m.likelihood(z).log_prob(x), 0)
    estimate = (weights * z).sum()
    q = m.posterior(x)
    ess = 1 / (weights ** 2).sum()
    assert abs(estimate - q.mean) < 5 * q.stddev / ess.sqrt() + 1e-3


def test_bayes_rule_holds_at_arbitrary_points():
    m = model64(THETAS[1])
    x = torch.tensor([[-2.0], [0.1], [3.0]], dtype=torch.float64)
    z = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    lhs = m.posterior(x).log_prob(z)  # (3, 4)
    rhs = m.log_joint(x, z) - m.marginal().log_prob(x)
    assert lhs.shape == (3, 4)
    torch.testing.assert_close(lhs, rhs)


def test_gradients_flow_to_the_components_given():
    theta = {k: torch.tensor(v, requires_grad=True) for k, v in THETAS[1].items()}
    m = joint.LinearGaussianLVM(**theta)
    assert m.parameters()["w"] is theta["w"]
    m.marginal().log_prob(torch.tensor(0.5)).backward()
    # d/db log N(x; w μ_z + b, v) = (x - mean) / v
    mean = 0.7 * -1.6 + 0.4
    v = 1.6 ** 2 * 1.3 ** 2 + 0.3 ** 2
    assert theta["b"].grad.item() == pytest.approx((0.5 - mean) / v, rel=1e-5)


def test_float_components_become_tensors_of_one_dtype():
    m = joint.LinearGaussianLVM(1, 2.0, torch.tensor(0.5, dtype=torch.float64), 0.0, 1.0)
    assert all(t.dtype == torch.float64 and t.dim() == 0 for t in m.parameters().values())
    assert list(m.parameters()) == ["mu_z", "s_z", "w", "b", "sigma"]


def test_sampling_is_reproducible():
    m = joint.LinearGaussianLVM()
    a = m.sample(5, torch.Generator().manual_seed(3))
    b = m.sample(5, torch.Generator().manual_seed(3))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


# ---------------------------------------------------------------------------- nonlinear model

LINEAR_CASES = [(0.0, 1.0, 1.0, 0.0, 0.5), (0.5, 1.5, -2.0, 1.0, 0.3), (-1.0, 0.7, 0.3, -0.5, 1.2),
                (0.0, 1.0, 3.0, 0.0, 0.06)]  # the last: posterior std 0.02 = 2 dz


@pytest.mark.parametrize("mu_z, s_z, w, b, sigma", LINEAR_CASES)
def test_quadrature_with_a_linear_f_matches_the_closed_form(mu_z, s_z, w, b, sigma):
    nl = joint.NonlinearLVM(f=lambda z: w * z + b, sigma=sigma, mu_z=mu_z, s_z=s_z)
    assert nl.grid.shape == (2001,) and nl.dz == pytest.approx(s_z / 100)
    lin = model64(dict(mu_z=mu_z, s_z=s_z, w=w, b=b, sigma=sigma))
    x = torch.linspace(-4, 4, 17, dtype=torch.float64)
    # The error stated in the docstring: < 1e-10 on log p_θ(x) while the posterior std >= 2 dz.
    assert (nl.log_marginal(x) - lin.marginal().log_prob(x)).abs().max() < 1e-10
    post, exact = nl.posterior(x), lin.posterior(x)
    torch.testing.assert_close(post.density, exact.log_prob(nl.grid.unsqueeze(-1)).exp().T,
                               rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(post.mean, exact.mean, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(post.std, exact.stddev, rtol=1e-6, atol=1e-10)


def count_modes(density: torch.Tensor, floor: float = 0.1) -> int:
    d = density / density.max()
    peak = (d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:]) & (d[1:-1] > floor)
    return int(peak.sum())


def test_default_decoder_gives_a_multimodal_posterior_for_some_x():
    nl = joint.NonlinearLVM()
    with torch.no_grad():
        modes = [count_modes(nl.posterior(torch.tensor(x)).density) for x in (0.5, 1.0, 1.5)]
        assert max(modes) >= 2
        # ...and a linear decoder never does.
        lin = joint.NonlinearLVM(f=lambda z: 2 * z)
        assert all(count_modes(lin.posterior(torch.tensor(x)).density) == 1 for x in (0.5, 1.0))


def test_log_joint_broadcasts_x_against_the_grid():
    nl = joint.NonlinearLVM()
    x = torch.tensor([[0.0], [1.0], [2.0]])
    lj = nl.log_joint(x, nl.grid)
    assert lj.shape == (3, 2001) and lj.dtype == torch.float64
    torch.testing.assert_close(lj[1, 5], nl.prior().log_prob(nl.grid[5])
                               + Normal(nl.f(nl.grid[5]), 0.5).log_prob(torch.tensor(1.0)))


def test_mlp_is_seeded_and_its_output_varies_with_z():
    a, b, c = DecoderNet(16, seed=0), DecoderNet(16, seed=0), DecoderNet(16, seed=1)
    z = torch.linspace(-2, 2, 5)
    torch.testing.assert_close(a(z), b(z))
    assert not torch.allclose(a(z), c(z))
    assert a(z).shape == (5,) and a(torch.zeros(2, 3)).shape == (2, 3)
    by_hand = torch.tanh(z.double()[:, None] * a.W1 + a.b1) @ a.W2 + a.b2
    torch.testing.assert_close(a(z), by_hand)


def test_nonlinear_parameters_name_the_networks_weights_and_sigma():
    nl = joint.NonlinearLVM()
    assert list(nl.parameters()) == ["W1", "b1", "W2", "b2", "sigma", "mu_z", "s_z"]
    assert list(joint.NonlinearLVM(f=torch.tanh).parameters()) == ["sigma", "mu_z", "s_z"]


def test_log_marginal_is_differentiable_in_theta():
    nl = joint.NonlinearLVM()
    nl.log_marginal(torch.tensor([0.3, 1.0])).sum().backward()
    assert nl.f.W1.grad is not None and nl.f.W1.grad.abs().sum() > 0


