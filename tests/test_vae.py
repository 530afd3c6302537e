"""vaelib.vae: every formula against torch.distributions, a hand formula, Monte Carlo or the exact
log p(x) of a linear-Gaussian model; the bounds' ordering; training, caching, bad arguments."""

import math

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from vaelib import vae
from vaelib.data import digits


def _small(decoder="bernoulli", z_dim=3, hidden=(16,), activation="tanh", x_dim=64):
    return vae.make_vae(decoder, z_dim, x_dim, hidden, activation).double()


# --- the analytic KL (AEVB Appendix B, eq. 10) ------------------------------------------------

def test_analytic_kl_matches_torch_distributions():
    mu, sigma = torch.randn(5, 4, dtype=torch.float64), torch.rand(5, 4, dtype=torch.float64) + 0.1
    expected = kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(vae.kl_to_standard_normal(mu, sigma), expected)


def test_analytic_kl_matches_monte_carlo_and_is_zero_only_at_the_prior():
    mu, sigma = torch.tensor([0.7, -1.2], dtype=torch.float64), torch.tensor([0.5, 1.8], dtype=torch.float64)
    q = Independent(Normal(mu, sigma), 1)
    z = q.sample((200_000,))
    log_ratio = q.log_prob(z) - Independent(Normal(torch.zeros(2), torch.ones(2)), 1).log_prob(z)
    se = log_ratio.std() / math.sqrt(len(z))
    assert abs(log_ratio.mean() - vae.kl_to_standard_normal(mu, sigma)) < 4 * se
    assert vae.kl_to_standard_normal(torch.zeros(3), torch.ones(3)) == 0
    assert vae.kl_to_standard_normal(mu, sigma) > 0


# --- encoder and decoders return distributions with the right log-densities ---------------------

def test_encoder_is_a_diagonal_gaussian_with_the_nets_outputs():
    enc = vae.GaussianEncoder(64, 3, (16,)).double()
    x = digits("train", "binary")[:5].double()
    q = enc(x)
    assert isinstance(q, Independent) and isinstance(q.base_dist, Normal)
    assert q.batch_shape == (5,) and q.event_shape == (3,)
    mu, log_var = enc.net(x).chunk(2, dim=-1)
    z = torch.randn(5, 3, dtype=torch.float64)
    hand = (-0.5 * (math.log(2 * math.pi) + log_var + (z - mu) ** 2 / log_var.exp())).sum(-1)
    torch.testing.assert_close(q.log_prob(z), hand)


def test_bernoulli_decoder_log_prob_is_the_c1_formula():
    dec = vae.BernoulliDecoder(3, 64, (16,)).double()
    z, x = torch.randn(5, 3, dtype=torch.float64), digits("train", "binary")[:5].double()
    y = torch.sigmoid(dec.net(z))
    hand = (x * y.log() + (1 - x) * (1 - y).log()).sum(-1)
    torch.testing.assert_close(dec(z).log_prob(x), hand)
    torch.testing.assert_close(dec(z).mean, y)


def test_gaussian_decoder_log_prob_is_the_c2_formula():
    dec = vae.GaussianDecoder(3, 64, (16,)).double()
    z, x = torch.randn(5, 3, dtype=torch.float64), digits("train", "grey")[:5].double() / 16
    mu, log_var = dec.net(z).chunk(2, dim=-1)
    hand = (-0.5 * (math.log(2 * math.pi) + log_var + (x - mu) ** 2 / log_var.exp())).sum(-1)
    torch.testing.assert_close(dec(z).log_prob(x), hand)


def test_categorical_decoder_gives_17_grey_level_probabilities_per_pixel():
    dec = vae.CategoricalDecoder(3, 64, (16,)).double()
    z, x = torch.randn(5, 3, dtype=torch.float64), digits("train", "grey")[:5].double()
    p = dec(z)
    probs = p.base_dist.probs
    assert probs.shape == (5, 64, 17)
    torch.testing.assert_close(probs.sum(-1), torch.ones(5, 64, dtype=torch.float64))
    logits = dec.net(z).view(5, 64, 17)
    hand = torch.log_softmax(logits, -1).gather(-1, x.long().unsqueeze(-1)).squeeze(-1).sum(-1)
    torch.testing.assert_close(p.log_prob(x), hand)
    s = p.sample()
    assert s.shape == (5, 64) and s.min() >= 0 and s.max() <= 16


def test_tied_grey_levels_are_u_times_the_shared_profiles_plus_a_bias():
    """levels_rank r: logits[d, k] = Σ_r u_{d,r} B[r, k] + c[d, k], u the MLP's 64 r outputs."""
    dec = vae.CategoricalDecoder(3, 64, (16,), levels_rank=4).double()
    basis = dec.net[-1]
    assert isinstance(basis, vae.LevelBasis) and basis.profiles.shape == (4, 17)
    z, x = torch.randn(5, 3, dtype=torch.float64), digits("train", "grey")[:5].double()
    u = dec.net[:-1](z)
    assert u.shape == (5, 64 * 4)
    logits = torch.einsum("ndr,rk->ndk", u.view(5, 64, 4), basis.profiles) + basis.bias
    p = dec(z)
    torch.testing.assert_close(p.base_dist.logits, torch.log_softmax(logits, -1))
    hand = torch.log_softmax(logits, -1).gather(-1, x.long().unsqueeze(-1)).squeeze(-1).sum(-1)
    torch.testing.assert_close(p.log_prob(x), hand)
    free = vae.CategoricalDecoder(3, 64, (16,))
    tied = sum(q.numel() for q in dec.parameters())
    assert tied == sum(q.numel() for q in free.parameters()) - 16 * 64 * 13 - 64 * 13 + 4 * 17 + 64 * 17


def test_theta_and_phi_are_disjoint_and_the_prior_has_no_parameters():
    model = _small()
    theta = {id(p) for p in model.decoder.parameters()}
    phi = {id(p) for p in model.encoder.parameters()}
    assert theta.isdisjoint(phi) and theta | phi == {id(p) for p in model.parameters()}
    prior = model.prior()
    z = torch.randn(4, 3, dtype=torch.float64)
    torch.testing.assert_close(prior.log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1))
    assert not any(t.requires_grad for t in (prior.base_dist.loc, prior.base_dist.scale))


# --- the SGVB estimator and the importance-weighted bound ---------------------------------------

def test_elbo_with_given_noise_is_eq_10_by_hand():
    model = _small()
    x = digits("train", "binary")[:6].double()
    eps = torch.randn(6, 3, dtype=torch.float64)
    q = model.encoder(x)
    mu, sigma = q.base_dist.loc, q.base_dist.scale
    y = torch.sigmoid(model.decoder.net(mu + sigma * eps))
    log_lik = (x * y.log() + (1 - x) * (1 - y).log()).sum(-1)
    kl = kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(model.elbo(x, eps=eps), log_lik - kl)


def test_analytic_kl_estimator_has_the_same_mean_as_the_plain_monte_carlo_one():
    """Eq. 10 (analytic KL) and eq. 9 (log p(x,z) - log q(z|x)) estimate the same ELBO."""
    model = _small()
    x = digits("train", "binary")[:2].double()
    g = torch.Generator().manual_seed(1)
    a = model.elbo(x.repeat(4000, 1), generator=g).view(4000, 2)
    b = model.log_marginal(x.repeat(4000, 1), K=1, generator=g).view(4000, 2)
    diff = a.mean(0) - b.mean(0)
    se = (a.var(0) / 4000 + b.var(0) / 4000).sqrt()
    assert (diff.abs() < 4 * se).all()
    assert (a.var(0) < b.var(0)).all()  # the analytic KL removes part of the noise


def test_iwae_with_k1_is_the_eq_9_estimator_on_the_same_noise():
    model = _small()
    x = digits("train", "binary")[:4].double()
    got = model.log_marginal(x, K=1, generator=torch.Generator().manual_seed(3))
    eps = torch.randn((1, 4, 3), generator=torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    q = model.encoder(x)
    z = q.base_dist.loc + q.base_dist.scale * eps
    hand = model.decoder(z).log_prob(x) + model.prior().log_prob(z) - q.log_prob(z)
    torch.testing.assert_close(got, hand)


def _linear_gaussian_vae():
    """hidden=() makes both nets linear; zeroing the decoder's log-variance weights makes
    p_θ(x|z) = N(W z + b, diag σ²) with σ fixed, so p_θ(x) = N(b, W Wᵀ + diag σ²) exactly."""
    model = vae.make_vae("gaussian", 2, 5, (), seed=1).double()
    lin = model.decoder.net[0]
    with torch.no_grad():
        lin.weight[5:] = 0.0
        lin.bias[5:] = torch.linspace(-1.0, 0.0, 5)
    W, b, var = lin.weight[:5].detach(), lin.bias[:5].detach(), lin.bias[5:].detach().exp()
    marginal = MultivariateNormal(b, W @ W.T + torch.diag(var))
    # Encoder: the exact posterior mean P⁻¹ Wᵀ D⁻¹ (x - b), P = I + Wᵀ D⁻¹ W, and diagonal
    # variances twice the posterior's: a proposal a bit wider than p_θ(z|x), so L_K converges.
    P = torch.eye(2, dtype=W.dtype) + W.T @ torch.diag(1 / var) @ W
    A = torch.linalg.solve(P, W.T @ torch.diag(1 / var))
    enc = model.encoder.net[0]
    with torch.no_grad():
        enc.weight.zero_()
        enc.weight[:2] = A
        enc.bias[:2] = -A @ b
        enc.bias[2:] = (2 * torch.linalg.inv(P).diagonal()).log()
    x = marginal.sample((3,)) * 1.5
    return model, x, marginal.log_prob(x)


def test_bounds_are_ordered_and_reach_the_exact_log_marginal():
    model, x, log_px = _linear_gaussian_vae()
    g = torch.Generator().manual_seed(0)
    reps = 200
    means = {}
    for K in (1, 10, 100):
        means[K] = model.log_marginal(x.repeat(reps, 1), K=K, generator=g).view(reps, -1).mean(0)
    elbo = model.elbo(x.repeat(reps, 1), generator=g).view(reps, -1).mean(0)
    l1000 = model.log_marginal(x, K=1000, generator=g)
    assert (elbo < means[10]).all() and (means[1] < means[10]).all()
    assert (means[10] < means[100]).all() and (means[100] <= log_px + 0.01).all()  # 0.01: MC noise
    assert (elbo <= log_px).all() and (log_px - elbo > 0.05).all()  # a real gap to close ...
    torch.testing.assert_close(l1000, log_px, atol=0.03, rtol=0)  # ... closed by K = 1000


def test_iwae_rises_with_k_on_a_nonlinear_model_and_batching_does_not_matter():
    model = _small(hidden=(32,))
    x = digits("test", "binary")[:3].double()
    g = torch.Generator().manual_seed(0)
    curve = [model.log_marginal(x.repeat(100, 1), K=K, generator=g).mean().item() for K in (1, 5, 50)]
    assert curve[0] < curve[1] < curve[2]
    one_at_a_time = model.log_marginal(x, K=1000, generator=g, max_rows=1000)
    together = model.log_marginal(x, K=1000, generator=g)
    torch.testing.assert_close(one_at_a_time, together, atol=0.1, rtol=0)


# --- training ----------------------------------------------------------------------------------

def test_training_is_seeded_and_raises_the_elbo():
    x, x_val = digits("train", "binary")[:300], digits("val", "binary")[:100]
    runs = []
    for _ in range(2):
        model = vae.make_vae("bernoulli", 2, hidden=(32,), seed=4)
        hist = vae.train(model, x, x_val=x_val, epochs=8, batch_size=100, lr=2e-2, seed=4,
                         progress=False)
        runs.append((model, hist))
    (m1, h1), (m2, h2) = runs
    assert h1["train"] == h2["train"] and h1["val"] == h2["val"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values(),
                                                 strict=True))
    assert h1["train"][-1] > h1["train"][0] + 5 and len(h1["seconds"]) == 8
    assert h1["val"][-1] > h1["val"][0]


def test_ema_weights_are_the_average_of_the_path():
    """With ema, the returned weights are θ̄_t = ema θ̄_(t-1) + (1 - ema) θ_t over the steps."""
    x = digits("train", "binary")[:100]
    model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    start = [p.detach().clone() for p in model.parameters()]
    vae.train(model, x, epochs=1, batch_size=100, lr=0.1, ema=0.9, seed=0, progress=False)
    plain = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    vae.train(plain, x, epochs=1, batch_size=100, lr=0.1, seed=0, progress=False)
    for s, p, e in zip(start, plain.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(e, 0.9 * s + 0.1 * p)  # one step: θ̄ = 0.9 θ_0 + 0.1 θ_1


def test_early_stopping_stops_and_restores_the_best_epoch():
    x, x_val = digits("train", "binary")[:200], digits("val", "binary")[:50]
    model = vae.make_vae("bernoulli", 2, hidden=(64,), seed=0)
    hist = vae.train(model, x, x_val=x_val, epochs=200, batch_size=100, lr=5e-2, patience=3,
                     progress=False)
    n = len(hist["val"])
    assert n < 200 and n == hist["best_epoch"] + 4  # stopped before the last epoch
    assert hist["val"][hist["best_epoch"]] == max(hist["val"])
    with torch.no_grad():  # the returned weights are the best epoch's: its val ELBO, same noise
        val = model._elbo(x_val, generator=torch.Generator().manual_seed(1)).mean().item()
    assert val == pytest.approx(max(hist["val"]), abs=1e-5)


def test_kl_warmup_weighs_the_kl_by_epoch_over_warmup_and_records_the_true_elbo():
    """Epoch 1 of kl_warmup=4 is one step on -(log p(x|z) - ¼ KL), by hand with the same noise."""
    x = digits("train", "binary")[:100]
    model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    hand = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    hist = vae.train(model, x, epochs=1, batch_size=100, lr=0.1, seed=3, kl_warmup=4, progress=False)
    torch.manual_seed(3)
    g = torch.Generator().manual_seed(3)
    opt = torch.optim.Adam(hand.parameters(), lr=0.1)
    log_likelihood, kl = hand._elbo_terms(x[torch.randperm(100, generator=g)], generator=g)
    (-(log_likelihood - 0.25 * kl).mean()).backward()
    opt.step()
    for a, b in zip(model.parameters(), hand.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert hist["train"][0] == pytest.approx((log_likelihood - kl).mean().item(), rel=1e-5)
    plain = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
    vae.train(plain, x, epochs=1, batch_size=100, lr=0.1, seed=3, progress=False)
    assert not torch.equal(plain.encoder.net[0].weight, model.encoder.net[0].weight)


def test_patience_counts_only_after_the_kl_warmup():
    """Trained on blank images, validated on all-ink ones: the validation ELBO is best at epoch 0."""
    x, x_val = torch.zeros(100, 64), torch.ones(20, 64)
    lengths = []
    for warmup in (0, 5):
        model = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0)
        hist = vae.train(model, x, x_val=x_val, epochs=50, batch_size=50, lr=0.05, patience=2,
                         kl_warmup=warmup, progress=False)
        assert hist["best_epoch"] == 0
        lengths.append(len(hist["val"]))
    assert lengths == [3, 7]  # stop 2 epochs after the best, or 2 after the warm-up ends (epoch 4)


def test_progress_bar_is_shown_unless_disabled(capsys):
    x = digits("train", "binary")[:64]
    vae.train(vae.make_vae(hidden=(8,)), x, epochs=2, progress=True)
    assert "training" in capsys.readouterr().err
    vae.train(vae.make_vae(hidden=(8,)), x, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


# --- the PyTorch example is the same estimator ---------------------------------------------------

def test_pytorch_example_loss_is_minus_the_summed_sgvb_elbo():
    torch.manual_seed(2)
    example = vae.ExampleVAE()
    model = vae.vae_from_example(example)
    x = digits("train", "binary")[:64]
    eps = torch.randn(64, 20)
    recon_x, mu, logvar = example(x, eps=eps)
    loss = vae.example_loss(recon_x, x, mu, logvar)
    torch.testing.assert_close(loss, -model.elbo(x, eps=eps).sum(), rtol=1e-5, atol=1e-3)
    assert sum(p.numel() for p in example.parameters()) == sum(p.numel() for p in model.parameters())


# --- the weights cache --------------------------------------------------------------------------

def test_weights_round_trip_and_leave_no_temporary_file(tmp_path):
    a, b = _small(), vae.make_vae("bernoulli", 3, hidden=(16,), seed=7).double()
    path = vae.save_weights(a, tmp_path / "sub" / "w.pt")
    assert vae.load_weights(b, path)
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values(),
                                                 strict=True))
    assert [p.name for p in path.parent.iterdir()] == ["w.pt"]


@pytest.mark.parametrize("content", [b"", b"not a torch file at all", "truncated", "mismatch"])
def test_bad_cache_file_means_train_again_not_a_crash(tmp_path, capsys, content):
    path = tmp_path / "w.pt"
    if content == "truncated":
        vae.save_weights(_small(), path)
        path.write_bytes(path.read_bytes()[:200])
    elif content == "mismatch":
        vae.save_weights(_small(z_dim=5), path)
    else:
        path.write_bytes(content)
    model = _small()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert vae.load_weights(model, path) is False
    out = capsys.readouterr().out
    assert "could not be read" in out and "training again" in out
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_missing_cache_file_says_so(tmp_path, capsys):
    assert vae.load_weights(_small(), tmp_path / "nothing.pt") is False
    assert "No cached weights" in capsys.readouterr().out


def test_course_model_trains_once_then_loads_and_retrains_after_corruption(tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.setattr(vae, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(vae, "COURSE_TRAINING", dict(epochs=2, batch_size=100, lr=3e-3))
    m1, h1 = vae.course_model(z_dim=2)
    m2, h2 = vae.course_model(z_dim=2)
    assert h1 is not None and h2 is None
    z = torch.randn(4, 2)
    torch.testing.assert_close(m1.decoder(z).mean, m2.decoder(z).mean)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"\x00" * 10)
    capsys.readouterr()
    _, h3 = vae.course_model(z_dim=2)
    assert h3 is not None and "training again" in capsys.readouterr().out


# --- bad arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"decoder": "poisson"}, "decoder"), ({"z_dim": 0}, "z_dim"), ({"x_dim": 2.5}, "x_dim"),
    ({"hidden": "wide"}, "hidden"), ({"hidden": (16, 0)}, "hidden"),
    ({"activation": "gelu"}, "activation"), ({"dropout": 1.0}, "dropout"), ({"seed": -1}, "seed")])
def test_make_vae_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        vae.make_vae(**kwargs)


def test_vae_rejects_mismatched_parts():
    with pytest.raises(ValueError, match="decoder"):
        vae.VAE(vae.GaussianEncoder(64, 2), vae.BernoulliDecoder(3, 64))
    with pytest.raises(ValueError, match="encoder"):
        vae.VAE(vae.BernoulliDecoder(2, 64), vae.BernoulliDecoder(2, 64))


@pytest.mark.parametrize("x, name", [(torch.zeros(3, 10), "x"), (torch.zeros(64), "x"),
                                     (torch.full((2, 64), float("nan")), "x")])
def test_elbo_and_log_marginal_reject_bad_data(x, name):
    model = _small()
    for f in (model.elbo, model.log_marginal, model.test_elbo):
        with pytest.raises(ValueError, match=f"^{name}:"):
            f(x)


def test_bad_noise_and_sample_counts():
    model, x = _small(), digits("train", "binary")[:4]
    with pytest.raises(ValueError, match="eps"):
        model.elbo(x, eps=torch.zeros(4, 2))
    with pytest.raises(ValueError, match="K"):
        model.log_marginal(x, K=0)
    with pytest.raises(ValueError, match="max_rows"):
        model.log_marginal(x, max_rows=0)
    with pytest.raises(ValueError, match="samples"):
        model.test_elbo(x, samples=0)


@pytest.mark.parametrize("kwargs, name", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"),
    ({"lr": float("nan")}, "lr"), ({"optimizer": "sgd"}, "optimizer"),
    ({"patience": 5}, "patience"), ({"seed": 1.5}, "seed"), ({"threads": 0}, "threads"),
    ({"ema": 1.0}, "ema"), ({"weight_decay": -1.0}, "weight_decay")])
def test_train_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        vae.train(_small(), digits("train", "binary")[:10], progress=False, **kwargs)
    with pytest.raises(ValueError, match="model"):
        vae.train(torch.nn.Linear(2, 2), digits("train", "binary")[:10])
    with pytest.raises(ValueError, match="example"):
        vae.vae_from_example(_small())
