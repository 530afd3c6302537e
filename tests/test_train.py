"""vaelib.train: Algorithm 1, seeded, raising the ELBO, and its options."""

import importlib.util
import pathlib

import pytest
import torch
from torch.distributions import kl_divergence

from vaelib import train, vae
from vaelib.data import digits


def _small(decoder="bernoulli", z_dim=3, hidden=(16,), activation="tanh", x_dim=64):
    return vae.make_vae(decoder, z_dim, x_dim, hidden, activation).double()


def test_training_is_seeded_and_raises_the_elbo():
    x, x_val = digits("train", "binary")[:300], digits("val", "binary")[:100]
    runs = []
    for _ in range(2):
        model = vae.make_vae("bernoulli", 2, hidden=(32,), seed=4)
        hist = train.train(model, x, x_val=x_val, epochs=8, batch_size=100, lr=2e-2, seed=4,
                         progress=False)
        runs.append((model, hist))
    (m1, h1), (m2, h2) = runs
    assert h1["train"] == h2["train"] and h1["val"] == h2["val"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values(),
                                                 strict=True))
    assert h1["train"][-1] > h1["train"][0] + 5 and len(h1["train"]) == 8 == len(h1["val"])
    assert h1["val"][-1] > h1["val"][0]


def test_kl_warmup_weighs_the_kl_by_epoch_over_warmup_and_records_the_true_elbo():
    """With a decoder that ignores z (first layer zeroed), ∇_φ E_q log p_θ(x|z) = 0, so one plain
    SGD step moves φ by -lr · β · ∇_φ (mean KL), whatever the noise: β = 1/4 in the first epoch of
    kl_warmup=4, β = 1 without. The recorded value is the ELBO itself: log p_θ(x|z) - KL, exact
    here because log p_θ(x|z) is the same for every z."""
    x = digits("train", "binary")[:100]
    for warmup, beta in ((4, 0.25), (0, 1.0)):
        model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
        with torch.no_grad():
            model.decoder.net[0].weight.zero_()
        phi = list(model.encoder.parameters())
        kl = kl_divergence(model.encoder(x), model.prior())
        with torch.no_grad():
            log_lik = model.decoder(torch.zeros(1, 2)).log_prob(x)
        step = torch.autograd.grad(kl.mean(), phi)
        expected = [p.detach() - 0.1 * beta * s for p, s in zip(phi, step, strict=True)]
        hist = train.train(model, x, epochs=1, batch_size=100, lr=0.1, optimizer=torch.optim.SGD,
                           kl_warmup=warmup, progress=False)
        for want, got in zip(expected, model.encoder.parameters(), strict=True):
            torch.testing.assert_close(got, want)
        assert hist["train"][0] == pytest.approx((log_lik - kl).mean().item(), rel=1e-6)


def test_progress_bar_is_shown_unless_disabled(capsys):
    x = digits("train", "binary")[:64]
    train.train(vae.make_vae(hidden=(8,)), x, epochs=2, progress=True)
    assert "training" in capsys.readouterr().err
    train.train(vae.make_vae(hidden=(8,)), x, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


def test_snapshots_are_the_start_and_geometrically_spaced_steps_with_the_weights_at_each():
    """200 images in minibatches of 100: 2 steps an epoch, 24 in 12 epochs; 5 snapshots at steps
    0, 1, 24^(1/3) ≈ 3, 24^(2/3) ≈ 8 and 24 (the first three inside the first two epochs)."""
    x = digits("train", "binary")[:200]
    model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=3)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    hist = train.train(model, x, epochs=12, batch_size=100, lr=1e-2, snapshots=5, progress=False)
    assert [s for s, _ in hist["snapshots"]] == [0, 1, 3, 8, 24] and hist["steps_per_epoch"] == 2
    first, last = hist["snapshots"][0][1], hist["snapshots"][-1][1]
    assert all(torch.equal(first[k], start[k]) for k in start)
    assert all(torch.equal(last[k], v) for k, v in model.state_dict().items())
    for epochs, k in ((4, 3), (1, 1)):  # the same run stopped after 8 steps; after 1 step: a third of it
        replay = vae.make_vae("bernoulli", 2, hidden=(8,), seed=3)
        train.train(replay, x if epochs == 4 else x[:100], epochs=epochs, batch_size=100, lr=1e-2,
                    progress=False)
        same = all(torch.equal(hist["snapshots"][k][1][n], v) for n, v in replay.state_dict().items())
        assert same == (epochs == 4)  # one step on 100 other images is not the first step of the run
    assert train.train(vae.make_vae(hidden=(8,)), x, epochs=1, progress=False)["snapshots"] == []
    hist = train.train(vae.make_vae(hidden=(8,)), x, epochs=600, batch_size=200, snapshots=20, progress=False)
    steps = [s for s, _ in hist["snapshots"]]
    assert len(set(steps)) == 20 and steps[:8] == [0, 1, 2, 3, 4, 5, 6, 8] and steps[-3:] == [295, 421, 600]


def test_weight_decay_one_over_n_is_a_map_step_under_the_prior_n01_on_the_eq8_estimate():
    """AEVB §5: ascend (N/M) Σ_i L̃_i + log N(θ; 0, I). One SGD step of train, its optimiser given
    weight_decay = 1/N on θ's group (the first) alone, is lr/N times that objective's gradient on θ,
    and the plain ELBO gradient on φ (the prior is on θ alone; lesson 05a). The encoder's σ is made
    ~1e-13, so z = μ exactly and the step does not depend on train's draws of ε."""
    x, n = digits("train", "binary")[:100], 1000
    model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    with torch.no_grad():
        model.encoder.net[-1].bias[2:] = -60.0
    theta, phi = list(model.decoder.parameters()), list(model.encoder.parameters())
    q = model.encoder(x)
    z = q.mean
    fit = model.decoder(z).log_prob(x) - kl_divergence(q, model.prior())
    log_prior = sum(torch.distributions.Normal(0.0, 1.0).log_prob(p).sum() for p in theta)
    map_objective = n / 100 * fit.sum() + log_prior
    grads = torch.autograd.grad(map_objective, theta + phi)
    expected = [p.detach() + 0.05 / n * g for p, g in zip(theta + phi, grads, strict=True)]

    def sgd_with_prior(groups, lr):
        return torch.optim.SGD([{**groups[0], "weight_decay": 1 / n}, groups[1]], lr=lr)

    train.train(model, x, epochs=1, batch_size=100, lr=0.05, optimizer=sgd_with_prior, progress=False)
    for want, got in zip(expected, [*model.decoder.parameters(), *model.encoder.parameters()], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)


def test_one_step_is_algorithm_1_written_out():
    """One step of train with plain SGD, recomputed by hand from the same draws: the permutation
    and ε come from one generator seeded with `seed` (randperm first, then ε), z = m + s ε, the
    loss minus the minibatch mean of log p_θ(x|z) - KL (a Bernoulli log-likelihood and the Gaussian
    KL of AEVB Appendix B written out), θ and φ moved by -lr times its gradient."""
    x = digits("train", "binary")[:50]
    model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=1).double()
    by_hand = vae.make_vae("bernoulli", 2, hidden=(8,), seed=1).double()
    rng = torch.Generator().manual_seed(7)
    x_m = x.double()[torch.randperm(50, generator=rng)]
    eps = torch.randn(50, 2, generator=rng).double()  # train draws ε in the default dtype
    mu, log_var = by_hand.encoder.net(x_m).chunk(2, dim=-1)
    y_logit = by_hand.decoder.net(mu + (0.5 * log_var).exp() * eps)
    log_lik = (x_m * y_logit - torch.nn.functional.softplus(y_logit)).sum(-1)
    kl = -0.5 * (1 + log_var - mu**2 - log_var.exp()).sum(-1)
    params = [*by_hand.decoder.parameters(), *by_hand.encoder.parameters()]
    grads = torch.autograd.grad(-(log_lik - kl).mean(), params)
    hist = train.train(model, x.double(), epochs=1, batch_size=50, lr=0.1, optimizer=torch.optim.SGD,
                       seed=7, progress=False)
    for p, g, got in zip(params, grads, [*model.decoder.parameters(), *model.encoder.parameters()],
                         strict=True):
        torch.testing.assert_close(got, p.detach() - 0.1 * g)
    assert hist["train"][0] == pytest.approx((log_lik - kl).mean().item(), rel=1e-9)


# --- the peer setting's extras, which wrap train's optimiser in benchmarks/vae_digits.py ----------

def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "vae_digits", pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "vae_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_weight_average_is_the_average_of_the_path():
    """With ema, the returned weights are θ̄_t = ema θ̄_(t-1) + (1 - ema) θ_t over the steps."""
    bench = _benchmark()
    x = digits("train", "binary")[:100]
    model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    start = [p.detach().clone() for p in model.parameters()]
    bench.train_peer(model, x, x[:20], 0, epochs=1, batch_size=100, lr=0.1, ema=0.9)
    plain = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    train.train(plain, x, epochs=1, batch_size=100, lr=0.1, seed=0, progress=False)
    for s, p, e in zip(start, plain.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(e, 0.9 * s + 0.1 * p)  # one step: θ̄ = 0.9 θ_0 + 0.1 θ_1


def test_the_benchmarks_early_stopping_stops_and_restores_the_best_epoch():
    bench = _benchmark()
    x, x_val = digits("train", "binary")[:200], digits("val", "binary")[:50]
    model = vae.make_vae("bernoulli", 2, hidden=(64,), seed=0)
    hist = bench.train_peer(model, x, x_val, 0, epochs=200, batch_size=100, lr=5e-2, patience=3)
    n = hist["epochs"]
    assert n < 200 and n == hist["best_epoch"] + 4  # stopped before the last epoch
    assert hist["val"][hist["best_epoch"]] == max(hist["val"])
    with torch.no_grad():  # the returned weights are the best epoch's: its val ELBO, same noise
        val = model.elbo(x_val, generator=torch.Generator().manual_seed(1)).mean().item()
    assert val == pytest.approx(max(hist["val"]), abs=1e-5)


def test_the_benchmarks_patience_counts_only_after_the_kl_warmup():
    """Trained on blank images, validated on all-ink ones: the validation ELBO is best at epoch 0."""
    bench = _benchmark()
    x, x_val = torch.zeros(100, 64), torch.ones(20, 64)
    lengths = []
    for warmup in (0, 5):
        model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
        hist = bench.train_peer(model, x, x_val, 0, epochs=50, batch_size=50, lr=0.05, patience=2,
                                kl_warmup=warmup)
        assert hist["best_epoch"] == 0
        lengths.append(hist["epochs"])
    assert lengths == [3, 7]  # stop 2 epochs after the best, or 2 after the warm-up ends (epoch 4)


def test_theta_is_every_parameter_but_the_encoders_a_learned_prior_included():
    """Lesson 06's learned prior p_θ(z): its mean and scale are part of θ and train moves them."""
    from vaelib import priors

    base = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    model = priors.GaussianPriorVAE(base.encoder, base.decoder)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train.train(model, digits("train", "binary")[:200], epochs=2, batch_size=100, progress=False)
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert moved == set(before)  # the prior's mean and log-scale, the decoder's and the encoder's weights
