"""Lessons 04-05: the amortized encoder q_φ(z|x), and what amortizing costs.

    q_φ(z|x) = N(z; μ_φ(x), diag σ_φ(x)²),  (μ_φ(x), log σ_φ(x)²) = MLP_φ(x)     (AEVB C.2)
φ = the MLP's weights and biases, shared by every x; q's μ and σ are its OUTPUTS (lesson 04 writes
m_φ(x), s_φ(x)). With q* the best Gaussian for that x alone (per_datapoint; Cremer et al. 2018):
    approximation gap = log p_θ(x) - ELBO(q*),   amortization gap = ELBO(q*) - ELBO(q_φ(z|x)).
"""

import torch
from torch import nn
from torch.distributions import Independent, Normal

from vaelib import elbo, optim, per_datapoint, posterior, validate

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}


def mlp(sizes, activation: str = "tanh", dropout: float = 0.0) -> nn.Sequential:
    """The course's one network: Linear layers of the given widths, `activation` (then dropout, if > 0)
    between them, nothing after the last."""
    validate.one_of("activation", activation, _ACTIVATIONS)
    dropout = validate.number("dropout", dropout, at_least=0, below=1)
    if not isinstance(sizes, tuple | list) or len(sizes) < 2:
        raise ValueError(f"sizes: expected two or more layer widths, got {sizes!r}")
    sizes = [validate.positive_int("sizes", s) for s in sizes]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [_ACTIVATIONS[activation]()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers)


def widths(hidden) -> tuple[int, ...]:
    """Hidden layer widths as a tuple: 400 -> (400,); () means no hidden layer (a linear map)."""
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if not isinstance(hidden, tuple | list):
        raise ValueError(f"hidden: expected a tuple of layer widths, e.g. (400,), got {hidden!r}")
    return tuple(validate.positive_int("hidden", h) for h in hidden)


class GaussianEncoder(nn.Module):
    """q_φ(z|x) = N(z; μ, diag σ²), (μ, log σ²) = MLP_φ(x): an Independent Normal per row of x."""

    def __init__(self, x_dim: int = 64, z_dim: int = 2, hidden=(400,), activation="tanh",
                 dropout: float = 0.0):
        super().__init__()
        self.x_dim = validate.positive_int("x_dim", x_dim)
        self.z_dim = validate.positive_int("z_dim", z_dim)
        self.net = mlp((self.x_dim, *widths(hidden), 2 * self.z_dim), activation, dropout)

    def gaussian(self, x: torch.Tensor) -> Normal:
        """The Normal of μ_φ(x) and σ_φ(x) = exp(½ log σ²_φ(x)), elementwise."""
        mu, log_var = self.net(x).chunk(2, dim=-1)
        return Normal(mu, (0.5 * log_var).exp(), validate_args=False)

    def forward(self, x: torch.Tensor) -> Independent:
        return Independent(self.gaussian(x), 1)


class ScalarEncoder(GaussianEncoder):
    """q_φ(z|x) for lessons 03-04's 1-D models: a seeded float64 MLP 1 -> H -> H -> 2 (tanh); x of any
    shape gives a Normal of that shape."""

    def __init__(self, hidden: int = 32, seed: int = 0):
        seed = validate.positive_int("seed", seed, minimum=0)
        with torch.random.fork_rng():  # seeded weights, the global generator left untouched
            torch.manual_seed(seed)
            super().__init__(1, 1, (hidden, hidden), "tanh")
        self.double()

    def forward(self, x) -> Normal:
        x = validate.tensor("x", x, dtype=torch.float64)
        q = self.gaussian(x.reshape(-1, 1))
        return Normal(q.loc.reshape(x.shape), q.scale.reshape(x.shape))


def count_parameters(module: nn.Module) -> int:
    """The number of real numbers in a module's parameters (φ for an encoder, θ for a decoder)."""
    validate.instance("module", module, nn.Module, "a torch.nn.Module")
    return sum(p.numel() for p in module.parameters())


def train_encoder(model, x, encoder: ScalarEncoder | None = None, steps: int = 1000,
                  lr: float = 1e-2, n_samples: int = 8, train_theta: bool = False, seed: int = 0,
                  record=None, record_every: int = 1) -> dict:
    """Maximise the sampled (1/N) Σ_i ELBO(q_φ(z|x_i)) over φ, and with train_theta over θ too (the VAE
    in 1-D; lesson 04 writes the loop in plain torch), Adam, full batch. Returns {"encoder",
    "elbo_path": the ELBO before each step} and, with `record`, its "path" (optim.ascend)."""
    x = validate.tensor("x", x, ndim=1)
    n_samples = validate.positive_int("n_samples", n_samples)
    encoder = ScalarEncoder(seed=seed) if encoder is None else encoder
    params = list(encoder.parameters())
    if train_theta:  # components that do not require grad (fixed ones) stay fixed
        params += [p for p in model.parameters().values() if p.requires_grad]
    g = torch.Generator().manual_seed(seed)
    objective = lambda: elbo.elbo(model, x, encoder(x), n_samples, generator=g).mean()  # noqa: E731
    run = optim.ascend(params, objective, steps, lr, record=record, record_every=record_every)
    return {"encoder": encoder, "elbo_path": run["values"], **({"path": run["path"]} if record else {})}


def gaps(model, x, encoder: ScalarEncoder) -> dict:
    """Per data point, by quadrature: log p_θ(x), ELBO(q*), ELBO(q_φ), the approximation and the
    amortization gaps (both >= 0), and q*'s m and s; each a tensor of the shape of x."""
    x = validate.tensor("x", x, ndim=1)
    validate.instance("encoder", encoder, nn.Module, "an encoder (encoder.ScalarEncoder)")
    best = per_datapoint.optimal_gaussian(model, x)
    grid, log_joint = posterior.quadrature_grid(model, x)
    with torch.no_grad():
        log_px = posterior.log_marginal(model, x)
        q = encoder(x)
        elbo_enc = elbo.elbo_from_log_joint(log_joint, grid, q.loc.double(), q.scale.double())
    return {"log_marginal": log_px, "elbo_optimal": best["elbo"], "elbo_encoder": elbo_enc,
            "approximation": log_px - best["elbo"], "amortization": best["elbo"] - elbo_enc,
            "m": best["m"], "s": best["s"]}
