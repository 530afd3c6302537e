"""Lesson 06 (further 06c): why AEVB may fix p_θ(z) = N(0, I), and a prior a decoder cannot absorb.

    GaussianPriorVAE   p_θ(z) = N(z; m, diag s²), m and log s part of θ. With z = m + s ⊙ u the decoder's
                       first layer sees (W1 diag s) u + (W1 m + b1): absorb_prior() moves m and s into
                       it, the same p_θ(x) and ELBO with p(u) = N(0, I). A learned Gaussian buys nothing.
    MixturePriorVAE    p_θ(z) = Σ_k π_k N(z; m_k, diag s_k²) (Tomczak's), which no affine layer makes of
                       N(0, I); its KL has no closed form, so the ELBO uses log q_φ(z|x) - log p_θ(z)
                       at the draws (AEVB eq. 6).
"""

import copy

import torch
from torch import nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from vaelib import validate
from vaelib.vae import VAE


class GaussianPriorVAE(VAE):
    """A VAE whose prior N(z; m, diag s²) is learned: θ = the decoder's weights, m and log s."""

    def __init__(self, encoder, decoder, mean=None, scale=None):
        super().__init__(encoder, decoder)
        like = self._like()
        mean = torch.zeros(self.z_dim) if mean is None else validate.tensor("mean", mean, ndim=1)
        scale = torch.ones(self.z_dim) if scale is None else validate.tensor("scale", scale, positive=True)
        if mean.shape != (self.z_dim,) or scale.shape != (self.z_dim,):
            raise ValueError(f"mean: expected mean and scale of shape ({self.z_dim},), got "
                             f"{tuple(mean.shape)} and {tuple(scale.shape)}")
        self.prior_mean = nn.Parameter(mean.to(**like).clone())
        self.prior_log_scale = nn.Parameter(scale.to(**like).log())

    def prior(self) -> Independent:
        """p_θ(z) = N(z; m, diag s²)."""
        return Independent(Normal(self.prior_mean, self.prior_log_scale.exp(), validate_args=False), 1)


def absorb_prior(model: GaussianPriorVAE) -> VAE:
    """The VAE with prior N(u; 0, I), u = (z - m) / s, and the same p_θ(x), ELBO and importance weights:
        decoder's first layer   W1' = W1 diag s,   b1' = b1 + W1 m
        encoder's output layer  μ' = (μ - m) / s,  log σ'² = log σ² - 2 log s"""
    validate.instance("model", model, GaussianPriorVAE, "a priors.GaussianPriorVAE")
    enc, dec = copy.deepcopy(model.encoder), copy.deepcopy(model.decoder)
    first, last = dec.net[0], enc.net[-1]
    if not isinstance(first, nn.Linear) or not isinstance(last, nn.Linear):
        raise ValueError("model: expected a decoder that starts and an encoder that ends with nn.Linear")
    m, log_s, k = model.prior_mean.detach(), model.prior_log_scale.detach(), model.z_dim
    with torch.no_grad():
        first.bias += first.weight @ m
        first.weight *= log_s.exp()
        last.weight[:k] /= log_s.exp().unsqueeze(1)
        last.bias[:k] = (last.bias[:k] - m) / log_s.exp()
        last.bias[k:] -= 2 * log_s
    return VAE(enc, dec)


class MixturePriorVAE(VAE):
    """Tomczak's mixture prior p_θ(z) = Σ_k π_k N(z; m_k, diag s_k²), π = softmax(w), w = 0 at the start;
    m_k ~ N(0, I) from `seed` and log s_k = 0 (his MoGPrior: scaled randn, random log-variances)."""

    analytic_kl = False

    def __init__(self, encoder, decoder, components: int = 10, seed: int = 0):
        super().__init__(encoder, decoder)
        k = validate.positive_int("components", components)
        g = torch.Generator().manual_seed(validate.positive_int("seed", seed, minimum=0))
        like = self._like()
        self.prior_logits = nn.Parameter(torch.zeros(k, **like))
        self.prior_means = nn.Parameter(torch.randn(k, self.z_dim, generator=g).to(**like))
        self.prior_log_scales = nn.Parameter(torch.zeros(k, self.z_dim, **like))

    def prior(self) -> MixtureSameFamily:
        """p_θ(z) = Σ_k softmax(w)_k N(z; m_k, diag s_k²)."""
        parts = Independent(Normal(self.prior_means, self.prior_log_scales.exp(), validate_args=False), 1)
        return MixtureSameFamily(Categorical(logits=self.prior_logits, validate_args=False), parts,
                                 validate_args=False)
