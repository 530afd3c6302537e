"""vaelib.encoder: the amortized q_φ(z|x), its training, and the two gaps."""

import torch
from helpers import g
from test_per_datapoint import assert_monte_carlo_elbo
from torch.distributions import Normal

from vaelib import elbo, encoder, joint


def test_per_point_optimum_beats_the_encoder_and_the_gaps_add_up(model, points):
    enc = encoder.train_encoder(model, points, steps=150, lr=0.02)["encoder"]
    gp = encoder.gaps(model, points, enc)
    assert (gp["approximation"] >= 0).all() and (gp["amortization"] >= -1e-9).all()
    assert gp["amortization"].mean() > 1e-3  # the encoder is worse somewhere
    with torch.no_grad():
        assert_monte_carlo_elbo(model, points, enc(points), gp["elbo_encoder"])
    m_rand = torch.randn(points.shape, generator=g(5), dtype=torch.float64)
    s_rand = torch.rand(points.shape, generator=g(6), dtype=torch.float64) + 0.2
    with torch.no_grad():  # q* is the best Gaussian: no other q beats it
        assert (gp["elbo_optimal"] >= elbo.elbo_grid(model, points, m_rand, s_rand) - 1e-9).all()


def test_encoder_training_raises_the_elbo_and_leaves_theta_alone(model, points):
    before = {k: v.clone() for k, v in model.parameters().items()}
    path = encoder.train_encoder(model, points, steps=100, lr=0.02)["elbo_path"]
    assert path[-10:].mean() > path[:10].mean()
    for k, v in model.parameters().items():
        assert torch.equal(v, before[k])
    enc = encoder.ScalarEncoder(hidden=8)
    assert isinstance(enc(points), Normal) and encoder.count_parameters(enc) == 16 + 72 + 18


def test_training_theta_and_phi_together_raises_the_log_likelihood(points):
    vae_model = joint.NonlinearLVM(seed=3)
    before = vae_model.log_marginal(points).mean().item()
    encoder.train_encoder(vae_model, points, steps=150, lr=0.02, train_theta=True)
    with torch.no_grad():
        assert vae_model.log_marginal(points).mean().item() > before + 0.1


