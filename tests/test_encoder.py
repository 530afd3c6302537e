"""vaelib.encoder: the amortized q_φ(z|x), its training, and the two gaps. (q* beats every other Gaussian:
test_per_datapoint.py; training θ with φ raises log p_θ(x): test_em.py's amortized run.)"""

import torch
from helpers import g
from test_per_datapoint import assert_monte_carlo_elbo
from torch.distributions import Normal

from vaelib import elbo, encoder, joint


def test_per_point_optimum_beats_the_encoder_and_the_gaps_add_up(model, points):
    """The two gaps add up to the inference gap log p_θ(x) - ELBO(q_φ), with log p_θ(x) on a wider,
    finer grid and the ELBO of q_φ by Monte Carlo: routes gaps() does not take."""
    enc = encoder.train_encoder(model, points, steps=150, lr=0.02)["encoder"]
    gp = encoder.gaps(model, points, enc)
    assert (gp["approximation"] >= -1e-9).all() and (gp["amortization"] >= -1e-9).all()  # >= 0 to rounding
    assert gp["amortization"].mean() > 1e-3  # the encoder is worse somewhere
    with torch.no_grad():
        assert_monte_carlo_elbo(model, points, enc(points), gp["elbo_encoder"])
        finer = joint.NonlinearLVM(grid=torch.linspace(-12, 12, 4801, dtype=torch.float64))
        log_px = finer.log_marginal(points)
        q = enc(points)
        z = elbo.reparameterised_sample(q, 40_000, g(8))
        inference_gap = log_px - (model.log_joint(points, z) - q.log_prob(z))  # (draws, points)
    se = inference_gap.std(0) / 40_000**0.5
    assert ((gp["approximation"] + gp["amortization"] - inference_gap.mean(0)).abs() < 4 * se).all()


def test_encoder_training_raises_the_elbo_and_leaves_theta_alone(model, points):
    before = {k: v.clone() for k, v in model.parameters().items()}
    path = encoder.train_encoder(model, points, steps=100, lr=0.02)["elbo_path"]
    assert path[-10:].mean() > path[:10].mean()
    for k, v in model.parameters().items():
        assert torch.equal(v, before[k])
    enc = encoder.ScalarEncoder(hidden=8)
    assert isinstance(enc(points), Normal) and encoder.count_parameters(enc) == 16 + 72 + 18


def test_train_encoder_is_the_plain_torch_loop_of_lesson_04(points):
    """The loop lesson 04 writes out (θ and φ in one Adam, z = μ + σ ε with 8 draws, the analytic
    KL to the prior), written again here: the same numbers as train_encoder(train_theta=True)."""
    theta_model, q_phi = joint.NonlinearLVM(seed=3), encoder.ScalarEncoder(seed=1)
    opt = torch.optim.Adam([*q_phi.parameters(), *theta_model.f.parameters()], lr=0.02)
    gen, by_hand = g(0), []
    for _ in range(30):
        q = q_phi(points)
        z = q.loc + q.scale * torch.randn(8, *points.shape, generator=gen, dtype=torch.float64)
        bound = (theta_model.likelihood(z).log_prob(points).mean(0)
                 - torch.distributions.kl_divergence(q, theta_model.prior())).mean()
        opt.zero_grad()
        (-bound).backward()
        opt.step()
        by_hand.append(bound.item())
    library_model = joint.NonlinearLVM(seed=3)
    seen = []
    run = encoder.train_encoder(library_model, points, encoder.ScalarEncoder(seed=1), steps=30, lr=0.02,
                                train_theta=True, seed=0, record=lambda: seen.append(1) or len(seen),
                                record_every=10)
    torch.testing.assert_close(run["elbo_path"], torch.tensor(by_hand), rtol=0, atol=1e-12)
    for a, b in zip(theta_model.f.parameters(), library_model.f.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert run["path"] == [1, 2, 3, 4]  # before steps 0, 10, 20 and after the last
