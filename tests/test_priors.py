"""vaelib.priors: the learned Gaussian prior and the mixture prior p_θ(z) against their hand formulas and,
with one standard component, against the N(0, I) prior. (The learned prior absorbed by the first layer,
the same ELBO and L_K for every test digit: lesson 06's check.)"""

import math

import torch
from torch.distributions import Normal

from vaelib import priors, train, vae
from vaelib.data import digits


def _learned_prior_model():
    base = vae.make_vae("bernoulli", 2, hidden=(16,), seed=1).double()
    return priors.GaussianPriorVAE(base.encoder, base.decoder, mean=[0.7, -0.4], scale=[1.8, 0.6])


def test_learned_gaussian_prior_is_n_m_s2():
    model = _learned_prior_model()
    z = torch.randn(5, 2, dtype=torch.float64)
    hand = Normal(torch.tensor([0.7, -0.4]), torch.tensor([1.8, 0.6])).log_prob(z).sum(-1)
    torch.testing.assert_close(model.prior().log_prob(z), hand.double())
    assert {"prior_mean", "prior_log_scale"} <= {n for n, _ in model.named_parameters()}


def test_mixture_prior_is_the_weighted_sum_of_its_components():
    base = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0).double()
    model = priors.MixturePriorVAE(base.encoder, base.decoder, components=3, seed=2)
    with torch.no_grad():
        model.prior_logits.copy_(torch.tensor([0.0, 1.0, -1.0]))
        model.prior_log_scales.copy_(torch.tensor([[0.0, 0.2], [-0.5, 0.1], [0.3, 0.3]]))
    z = torch.randn(6, 2, dtype=torch.float64)
    w = torch.softmax(model.prior_logits, 0)
    parts = [Normal(model.prior_means[k], model.prior_log_scales[k].exp()).log_prob(z).sum(-1).exp()
             for k in range(3)]
    hand = sum(w[k] * parts[k] for k in range(3)).log()
    torch.testing.assert_close(model.prior().log_prob(z), hand)


def test_one_standard_component_gives_back_the_n01_elbo_in_expectation_and_training_works():
    base = vae.make_vae("bernoulli", 2, hidden=(8,), seed=0).double()
    model = priors.MixturePriorVAE(base.encoder, base.decoder, components=1)
    with torch.no_grad():
        model.prior_means.zero_()
    x = digits("train", "binary")[:2].double()
    reps = x.repeat(20000, 1)
    estimate = model.elbo(reps, generator=torch.Generator().manual_seed(0)).view(20000, 2)
    exact_kl = base.elbo(reps, generator=torch.Generator().manual_seed(0)).view(20000, 2)  # analytic KL
    se = (estimate.var(0) / 20000).sqrt()
    assert ((estimate.mean(0) - exact_kl.mean(0)).abs() < 4 * se + 1e-9).all()
    x = digits("train", "binary")[:200]
    start = vae.make_vae(hidden=(16,))
    mog = priors.MixturePriorVAE(start.encoder, start.decoder, components=4)
    hist = train.train(mog, x, epochs=6, batch_size=50, lr=1e-2, progress=False)
    assert hist["train"][-1] > hist["train"][0] + 3 and math.isfinite(mog.test_elbo(x))
