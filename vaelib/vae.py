"""Lesson 05: the VAE of AEVB (Kingma & Welling 2013) Appendix C, on real digits.

    p_θ(z)    = N(z; 0, I)                the prior "lacks parameters" (AEVB §3)
    p_θ(x|z)  = Π_d Bernoulli(x_d; y_d),  y = sigmoid(MLP_θ(z))                       (C.1)
                N(x; μ, diag σ²),        (μ, log σ²) = MLP_θ(z)                       (C.2)
    q_φ(z|x)  = N(z; μ, diag σ²),        (μ, log σ²) = MLP_φ(x)  (vaelib.encoder, C.2)
θ is the decoder's weights and biases, φ the encoder's; the distributions' parameters are the networks'
OUTPUTS. Every part returns a torch distribution (Independent over pixels or latents); the bounds are
vaelib.elbo's. Lesson 06's other σ are vaelib.noise's, its other priors vaelib.priors'.
"""

import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from vaelib import elbo, validate
from vaelib import threads as torch_threads
from vaelib.encoder import GaussianEncoder, mlp, widths


class Decoder(nn.Module):
    """p_θ(x|z): MLP_θ maps z to the parameters of a distribution over the x_dim pixels."""

    outputs_per_pixel = 1

    def __init__(self, z_dim: int = 2, x_dim: int = 64, hidden=(400,), activation="tanh",
                 dropout: float = 0.0):
        super().__init__()
        self.z_dim = validate.positive_int("z_dim", z_dim)
        self.x_dim = validate.positive_int("x_dim", x_dim)
        self.net = mlp((self.z_dim, *widths(hidden), self.outputs_per_pixel * self.x_dim),
                       activation, dropout)


class _BernoulliDecoder(Decoder):
    """p_θ(x|z) = Π_d Bernoulli(x_d; y_d), y = sigmoid(MLP_θ(z)) (AEVB C.1), from the logits."""

    def forward(self, z: torch.Tensor) -> Independent:
        return Independent(Bernoulli(logits=self.net(z), validate_args=False), 1)


class GaussianDecoder(Decoder):
    """p_θ(x|z) = N(x; μ, diag σ²), (μ, log σ²) = MLP_θ(z): AEVB C.2 (its σ²I, σ² a vector), W4, b4 and
    W5, b5 the halves of one output layer. min_scale σ_min > 0 (lesson 06): σ² = σ_min² + exp(log σ²)."""

    outputs_per_pixel = 2

    def __init__(self, z_dim: int = 2, x_dim: int = 64, hidden=(400,), activation="tanh",
                 dropout: float = 0.0, min_scale: float = 0.0):
        super().__init__(z_dim, x_dim, hidden, activation, dropout)
        self.min_scale = validate.number("min_scale", min_scale, at_least=0)

    def forward(self, z: torch.Tensor) -> Independent:
        mu, log_var = self.net(z).chunk(2, dim=-1)
        scale = (0.5 * log_var).exp() if not self.min_scale else (log_var.exp() + self.min_scale**2).sqrt()
        return Independent(Normal(mu, scale, validate_args=False), 1)


_DECODERS = {"bernoulli": _BernoulliDecoder, "gaussian": GaussianDecoder}


class VAE(nn.Module):
    """p_θ(x, z) = p_θ(z) p_θ(x|z), p_θ(z) = N(0, I), and the encoder q_φ(z|x).
    θ = decoder.parameters(), φ = encoder.parameters(); the prior has no parameters."""

    analytic_kl = True  # KL(q_φ(z|x) ‖ p_θ(z)) has a closed form (AEVB Appendix B)

    def __init__(self, encoder: GaussianEncoder, decoder: Decoder):
        super().__init__()
        self.encoder = validate.instance("encoder", encoder, GaussianEncoder, "a GaussianEncoder")
        names = [d.__name__ for d in _DECODERS.values()]
        self.decoder = validate.instance("decoder", decoder, Decoder, f"one of {names}")
        if (encoder.z_dim, encoder.x_dim) != (decoder.z_dim, decoder.x_dim):
            raise ValueError(f"decoder: expected z_dim={encoder.z_dim}, x_dim={encoder.x_dim} to "
                             f"match the encoder, got z_dim={decoder.z_dim}, x_dim={decoder.x_dim}")
        self.z_dim, self.x_dim = encoder.z_dim, encoder.x_dim

    def prior(self) -> Independent:
        """p_θ(z) = N(z; 0, I): fixed, no parameters (AEVB §3)."""
        zeros = torch.zeros(self.z_dim, **self._like())
        return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1)

    def likelihood(self, z: torch.Tensor) -> Independent:
        """p_θ(x|z), the decoder's distribution at z."""
        return self.decoder(z)

    def log_joint(self, x, z) -> torch.Tensor:
        """log p_θ(x, z) = log p_θ(z) + log p_θ(x|z), broadcasting z (..., z_dim) against x's rows."""
        return self.prior().log_prob(z) + self.decoder(z).log_prob(x)

    def elbo_terms(self, x, q, z) -> tuple[torch.Tensor, torch.Tensor]:
        """((1/S) Σ_s log p_θ(x|z_s), KL(q_φ(z|x) ‖ p_θ(z))) for draws z (S, N, z_dim): the KL in closed
        form (eq. 10), or for a prior without one (1/S) Σ_s [log q(z_s|x) - log p_θ(z_s)]."""
        log_lik = self.likelihood(z).log_prob(x).mean(0)
        if self.analytic_kl:
            return log_lik, kl_divergence(q, self.prior())
        return log_lik, (q.log_prob(z) - self.prior().log_prob(z)).mean(0)

    def _like(self) -> dict:
        p = next(self.parameters())
        return {"device": p.device, "dtype": p.dtype}

    def check_x(self, x) -> torch.Tensor:
        """x as (N, x_dim) rows on the model's device and dtype (ValueError naming x otherwise)."""
        return validate.rows("x", x, self.x_dim).to(**self._like())

    def elbo(self, x, eps=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """SGVB with L = 1 (AEVB eq. 10): log p_θ(x | μ + σ ⊙ ε) - KL(q_φ(z|x) ‖ p_θ(z)), one value
        per row of x (N, x_dim); ε ~ N(0, I) is drawn from `generator` unless given as `eps`."""
        x = self.check_x(x)
        q, z = self.encoder(x), None
        if eps is not None:
            eps = validate.tensor("eps", eps, ndim=2).to(x)
            if eps.shape != (x.shape[0], self.z_dim):
                raise ValueError(f"eps: expected shape ({x.shape[0]}, {self.z_dim}), got {tuple(eps.shape)}")
            z = (q.mean + q.stddev * eps).unsqueeze(0)
        return elbo.elbo(self, x, q, generator=generator, z=z, analytic_kl=self.analytic_kl)

    @torch.no_grad()
    def log_marginal(self, x, K: int = 1000, generator: torch.Generator | None = None,
                     max_rows: int = 8192, threads: int | None = 1) -> torch.Tensor:
        """L_K = E[log (1/K) Σ_k p_θ(x, z_k) / q_φ(z_k|x)], z_k ~ q_φ(z|x), one estimate per row of x
        (elbo.iwae_bound: ≤ log p_θ(x) in expectation). At most `max_rows` z decoded at once, on
        `threads` CPU threads (None: as torch is)."""
        x, K = self.check_x(x), validate.positive_int("K", K)
        rows = max(1, validate.positive_int("max_rows", max_rows) // K)
        out = torch.empty(len(x), device=x.device, dtype=x.dtype)  # filled in place: no small tensors
        with torch_threads(threads):                               # left between the large temporaries
            for i in range(0, len(x), rows):
                out[i:i + rows] = elbo.iwae_bound(self, x[i:i + rows], self.encoder(x[i:i + rows]), K,
                                                  generator=generator)
        return out

    @torch.no_grad()
    def test_elbo(self, x, seed: int = 0) -> float:
        """Mean ELBO per image over the rows of x, each SGVB estimate averaged over 10 draws of ε."""
        x = self.check_x(x)
        g = torch.Generator(device=x.device).manual_seed(seed)
        q = self.encoder(x)
        return elbo.elbo(self, x, q, 10, generator=g, analytic_kl=self.analytic_kl).mean().item()


def make_vae(decoder="bernoulli", z_dim: int = 2, x_dim: int = 64, hidden=(400,),
             activation: str = "tanh", seed: int = 0, dropout: float = 0.0, **decoder_options) -> VAE:
    """A VAE: a Gaussian MLP encoder and the named decoder ('bernoulli' C.1, 'gaussian' C.2) or a Decoder
    subclass (lesson 06's, with its decoder_options) with the hidden widths reversed; seeded, on device()."""
    from vaelib import device

    cls = decoder if isinstance(decoder, type) and issubclass(decoder, Decoder) else _DECODERS[
        validate.one_of("decoder", decoder, _DECODERS)]
    with torch.random.fork_rng():  # seeded weights, the global generator left untouched
        torch.manual_seed(validate.positive_int("seed", seed, minimum=0))
        enc = GaussianEncoder(x_dim, z_dim, hidden, activation, dropout)
        dec = cls(z_dim, x_dim, tuple(reversed(widths(hidden))), activation, dropout, **decoder_options)
    return VAE(enc, dec).to(device())
