"""vaelib.joint against independent computations: densities written out, Monte Carlo. (The closed-form
marginal and posterior against the Kalman-gain form, and the quadrature model against them:
test_properties.py; against the joint integrated and divided by quadrature: lesson 02's check.)"""

import math

import pytest
import torch
from torch.distributions import Normal

from vaelib import joint
from vaelib.joint import DecoderNet

THETAS = [dict(mu_z=0.0, s_z=1.0, w=1.0, b=0.0, sigma=0.5),
          dict(mu_z=0.7, s_z=1.3, w=-1.6, b=0.4, sigma=0.3),
          dict(mu_z=-1.2, s_z=0.5, w=0.2, b=-2.0, sigma=1.5)]


def model64(theta):
    return joint.LinearGaussianLVM(**{k: torch.tensor(v, dtype=torch.float64) for k, v in theta.items()})


# ---------------------------------------------------------------------------- linear-Gaussian

def test_prior_and_likelihood_are_the_hand_written_densities():
    m = joint.LinearGaussianLVM(0.5, 2.0, 1.5, -1.0, 0.8)
    z, x = torch.tensor([-1.0, 0.0, 2.5]), torch.tensor(0.3)
    prior_by_hand = -0.5 * math.log(2 * math.pi) - math.log(2.0) - (z - 0.5) ** 2 / (2 * 4.0)
    lik_by_hand = -0.5 * math.log(2 * math.pi) - math.log(0.8) - (x - (1.5 * z - 1.0)) ** 2 / (2 * 0.64)
    torch.testing.assert_close(m.prior().log_prob(z), prior_by_hand)
    torch.testing.assert_close(m.likelihood(z).log_prob(x), lik_by_hand)


@pytest.mark.parametrize("theta", THETAS)
def test_samples_are_seeded_and_have_the_marginals_moments(theta):
    m = model64(theta)
    _, x = m.sample(200_000, torch.Generator().manual_seed(1))
    assert torch.equal(x, m.sample(200_000, torch.Generator().manual_seed(1))[1])
    p = m.marginal()
    assert abs(x.mean().item() - p.mean.item()) < 5 * p.scale.item() / math.sqrt(len(x))
    assert abs(x.std().item() / p.scale.item() - 1) < 0.01


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


# ---------------------------------------------------------------------------- nonlinear model

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
