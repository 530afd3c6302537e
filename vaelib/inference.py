"""Lessons 03-04: variational inference, then amortized inference.

For one generative model p_θ(x, z) = p_θ(z) p_θ(x|z) and one observed x:

    log p_θ(x) = ELBO(q) + KL(q(z) ‖ p_θ(z|x)),   ELBO(q) = E_q[log p_θ(x, z) - log q(z)]

so the ELBO is a lower bound on the evidence and the gap is exactly how far q is from the posterior.
Not amortized, q_λ(z) = N(m, s²) has its own λ_i = (m_i, s_i) for every data point x_i; amortized,
an encoder with weights φ outputs the μ and σ of q_φ(z|x) = N(μ_φ(x), σ_φ(x)²) for any x.
Gaps (Cremer, Li & Duvenaud 2018), q* the best Gaussian for that x:
    approximation gap = log p_θ(x) - ELBO(q*),   amortization gap = ELBO(q*) - ELBO(q_φ).

A "model" here is anything with prior() -> Normal, likelihood(z) -> Normal (broadcasting over z)
and log_joint(x, z) = log p_θ(z) + log p_θ(x|z); the 1-D models of lesson 02 (vaelib.lvm) are
such models, and the grid functions also use model.grid (equally spaced z values).
"""

import math

import torch
from torch import nn
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vaelib import validate

# --------------------------------------------------------------------------------------------
# The variational family and the ELBO
# --------------------------------------------------------------------------------------------


def variational(m, s) -> Normal:
    """q_λ(z) = N(z; m, s²), λ = (m, s): the variational family of lessons 03-04."""
    return Normal(validate.tensor("m", m), validate.scale("s", s))


def _q(q) -> Normal:
    if not isinstance(q, Normal):
        raise ValueError(f"q: expected a torch.distributions.Normal, got {type(q).__name__}")
    return q


def reparameterised_sample(q: Normal, n_samples: int = 1, generator=None) -> torch.Tensor:
    """z = m + s ε, ε ~ N(0, 1): n_samples draws of shape (n_samples, *q.batch_shape), differentiable
    in q's m and s (the reparameterisation trick, AEVB §2.4)."""
    q = _q(q)
    n_samples = validate.positive_int("n_samples", n_samples)
    eps = torch.randn((n_samples, *q.batch_shape), generator=generator, dtype=q.loc.dtype)
    return q.loc + q.scale * eps


def elbo(model, x, q: Normal, n_samples: int = 1, analytic_kl: bool = True,
         generator=None) -> torch.Tensor:
    """The ELBO estimated with reparameterised samples z_s = m + s ε_s, s = 1..S:

    analytic KL:  ELBO ≈ (1/S) Σ_s log p_θ(x | z_s) - KL(q ‖ p_θ(z))   (AEVB eq. 10)
    otherwise:    ELBO ≈ (1/S) Σ_s [log p_θ(x, z_s) - log q(z_s)]      (AEVB eq. 6)

    x and q broadcast together (one q per data point, or one q for one x); the result has their
    broadcast shape. Unbiased for the ELBO, and differentiable in q's parameters and in θ.
    """
    x = validate.tensor("x", x)
    z = reparameterised_sample(q, n_samples, generator)
    if analytic_kl:  # q and the prior are both Normal: torch has their KL in closed form
        return model.likelihood(z).log_prob(x).mean(0) - kl_divergence(q, model.prior())
    return (model.log_joint(x, z) - q.log_prob(z)).mean(0)


def iwae_bound(model, x, q: Normal, k: int, n_outer: int = 1, generator=None) -> torch.Tensor:
    """The importance-weighted bound (Burda et al. 2015), z_1..z_K ~ q independently:

        L_K = E[ log (1/K) Σ_k p_θ(x, z_k) / q(z_k) ]   (a logsumexp of log-weights minus log K),

    L_1 = ELBO, L_K non-decreasing in K and → log p_θ(x). Estimated with n_outer independent sets
    of K samples, averaged; the shape is that of x and q broadcast together.
    """
    k = validate.positive_int("k", k)
    n_outer = validate.positive_int("n_outer", n_outer)
    x = validate.tensor("x", x)
    q = _q(q)
    z = reparameterised_sample(q, n_outer * k, generator)
    z = z.reshape(n_outer, k, *z.shape[1:])
    log_w = model.log_joint(x, z) - q.log_prob(z)
    return (torch.logsumexp(log_w, dim=1) - math.log(k)).mean(0)


# --------------------------------------------------------------------------------------------
# Exact (quadrature) ELBO and KL on the model's grid: the truth the estimators are checked against
# --------------------------------------------------------------------------------------------


def _grid(model) -> tuple[torch.Tensor, float]:
    if not hasattr(model, "grid"):
        raise ValueError(f"model: expected a model with a .grid of equally spaced z values "
                         f"(e.g. lvm.NonlinearLVM), got {type(model).__name__}")
    grid = validate.tensor("model.grid", model.grid, ndim=1, min_len=3)
    steps = grid.diff()
    if not torch.allclose(steps, steps[0].expand_as(steps), rtol=1e-3, atol=0):
        raise ValueError("model.grid: expected equally spaced z values")
    return grid, steps[0].item()


def log_joint_on_grid(model, x) -> torch.Tensor:
    """log p_θ(x, z_g) for every x (shape (*x.shape, G)) and every grid point z_g."""
    x = validate.tensor("x", x)
    grid, _ = _grid(model)
    return model.log_joint(x.unsqueeze(-1), grid)


def elbo_from_log_joint(log_joint, grid, m, s) -> torch.Tensor:
    """The quadrature ELBO from precomputed log p_θ(x, z_g) (see quadrature_grid):
    ELBO(m, s) = Σ_g w_g log p_θ(x, z_g) + ½ log(2πe s²), w_g ∝ N(z_g; m, s²) normalised on the
    grid. log_joint has shape (..., G); m and s broadcast with its leading dimensions."""
    m = validate.tensor("m", m).to(grid.dtype)
    s = validate.scale("s", s).to(grid.dtype)
    w = torch.softmax(-0.5 * ((grid - m.unsqueeze(-1)) / s.unsqueeze(-1)) ** 2, dim=-1)
    entropy = 0.5 * torch.log(2 * math.pi * math.e * s**2)
    return (w * log_joint).sum(-1) + entropy


def elbo_grid(model, x, m, s) -> torch.Tensor:
    """The exact ELBO of q = N(m, s²) by quadrature on model.grid (needs s well above the grid step):

        ELBO(m, s) = ∫ N(z; m, s²) log p_θ(x, z) dz + ½ log(2πe s²).

    The result has shape broadcast(x.shape, m.shape, s.shape): one x and a whole (m, s) surface,
    or one (m_i, s_i) per x_i. Differentiable in m and s.
    """
    grid, step = _grid(model)
    m, s = validate.tensor("m", m), validate.scale("s", s)
    if (s < 2 * step).any():
        raise ValueError(f"s: expected s >= 2 grid steps ({2 * step:.3g}) for the quadrature")
    log_joint = log_joint_on_grid(model, x)
    return elbo_from_log_joint(log_joint, grid.to(log_joint.dtype), m, s)


def elbo_surface(model, x: float, m_values, s_values) -> torch.Tensor:
    """The exact ELBO over a whole (m, s) plane for one x: shape (len(m_values), len(s_values))."""
    x = validate.finite_float("x", x)
    m_values = validate.tensor("m_values", m_values, ndim=1).double()
    s_values = validate.scale("s_values", s_values).double()
    if s_values.dim() != 1:
        raise ValueError(f"s_values: expected a 1-D tensor, got shape {tuple(s_values.shape)}")
    grid, log_joint = quadrature_grid(model, torch.tensor([x], dtype=torch.float64))
    with torch.no_grad():
        return elbo_from_log_joint(log_joint[0], grid, m_values[:, None], s_values[None, :])


def kl_to_posterior_grid(model, x: float, m, s) -> torch.Tensor:
    """KL(q ‖ p_θ(z|x)) = ∫ q(z) [log q(z) - log p_θ(z|x)] dz by quadrature, with the posterior
    taken from model.posterior(x) (the grid posterior of lesson 02)."""
    x = validate.finite_float("x", x)
    grid, _ = _grid(model)
    q = variational(m, s)
    log_q = Normal(q.loc.unsqueeze(-1), q.scale.unsqueeze(-1)).log_prob(grid)
    w = torch.softmax(log_q, dim=-1)
    log_post = model.posterior(x).log_prob(grid)
    return (w * (log_q - log_post)).sum(-1)


def posterior_moments_grid(model, x) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the exact posterior p_θ(z|x) for every x, by quadrature."""
    grid, _ = _grid(model)
    with torch.no_grad():
        w = torch.softmax(log_joint_on_grid(model, x), dim=-1)
        mean = (w * grid).sum(-1)
        return mean, ((w * (grid - mean.unsqueeze(-1)) ** 2).sum(-1)).sqrt()


def log_marginal_grid(model, x) -> torch.Tensor:
    """log p_θ(x) = log ∫ p_θ(x, z) dz ≈ logsumexp_g log p_θ(x, z_g) + log Δz, for every x."""
    _, step = _grid(model)
    return torch.logsumexp(log_joint_on_grid(model, x), dim=-1) + math.log(step)


# --------------------------------------------------------------------------------------------
# Gradient estimators of ∇_λ E_q[f(z)], q = N(m, s²)
# --------------------------------------------------------------------------------------------


def _estimator_inputs(m, s, n_samples):
    m, s = validate.finite_float("m", m), validate.scale("s", s).item()
    n_samples = validate.positive_int("n_samples", n_samples)
    m_ = torch.full((n_samples,), m, dtype=torch.float64, requires_grad=True)
    s_ = torch.full((n_samples,), s, dtype=torch.float64, requires_grad=True)
    return m_, s_


def reparam_gradient(f, m, s, n_samples: int = 1000, generator=None) -> dict:
    """Per-sample reparameterisation gradients of E_q[f(z)], q = N(m, s²):

        z = m + s ε, ε ~ N(0, 1):   ĝ_m = f'(z),  ĝ_s = f'(z) ε.

    Returns {"m": (n_samples,), "s": (n_samples,)}; their means are unbiased for ∇_m and ∇_s.
    f maps a tensor of z values to a tensor of the same shape (differentiably).
    """
    m_, s_ = _estimator_inputs(m, s, n_samples)
    eps = torch.randn(n_samples, generator=generator, dtype=torch.float64)
    f(m_ + s_ * eps).sum().backward()
    return {"m": m_.grad, "s": s_.grad}


def score_function_gradient(f, m, s, n_samples: int = 1000, generator=None) -> dict:
    """Per-sample score-function (REINFORCE) gradients of E_q[f(z)], q = N(m, s²), z ~ q:

        ĝ = f(z) ∇_λ log q_λ(z):   ĝ_m = f(z) (z - m)/s²,  ĝ_s = f(z) ((z - m)² - s²)/s³.

    f need not be differentiable. Returns {"m": (n_samples,), "s": (n_samples,)}.
    """
    m_, s_ = _estimator_inputs(m, s, n_samples)
    with torch.no_grad():
        z = m_ + s_ * torch.randn(n_samples, generator=generator, dtype=torch.float64)
        fz = f(z)
    (fz * Normal(m_, s_).log_prob(z)).sum().backward()
    return {"m": m_.grad, "s": s_.grad}


def quadratic_gradient_variances(mu, sigma) -> dict:
    """Closed forms for f(z) = z², q = N(μ, σ²), gradient in μ:
    reparameterisation Var[2z] = 4σ²; score function Var[z²(z-μ)/σ²] = (μ⁴ + 14μ²σ² + 15σ⁴)/σ²."""
    mu, sigma = validate.finite_float("mu", mu), validate.scale("sigma", sigma).item()
    reparam = 4 * sigma**2
    score = (mu**4 + 14 * mu**2 * sigma**2 + 15 * sigma**4) / sigma**2
    return {"reparam": reparam, "score": score, "ratio": score / reparam}


# --------------------------------------------------------------------------------------------
# Per-datapoint variational inference: λ_i = (m_i, s_i) for every x_i
# --------------------------------------------------------------------------------------------


def fit_per_datapoint(model, x, steps: int = 300, lr: float = 0.05, n_samples: int = 8,
                      m0=None, s0=None, seed: int = 0) -> dict:
    """Maximise the reparameterised ELBO over λ_i = (m_i, log s_i) for every x_i at once (Adam),
    from (m0, s0) (default: initial_gaussian, a start on the highest hill of the ELBO), the
    learning rate decayed to 0 on a cosine schedule so the noisy steps settle.

    The points do not interact: the gradient of Σ_i ELBO_i in λ_i is the gradient of ELBO_i.
    Returns {"m", "s"} (shape of x) and their paths {"m_path", "s_path"} of shape (steps+1, *x).
    """
    x = validate.tensor("x", x)
    steps, n_samples = validate.positive_int("steps", steps), validate.positive_int("n_samples",
                                                                                   n_samples)
    lr = _learning_rate(lr)
    if m0 is None or s0 is None:
        start_m, start_s = initial_gaussian(model, x)
    m0 = start_m if m0 is None else validate.tensor("m0", m0).expand_as(x)
    s0 = start_s if s0 is None else validate.scale("s0", s0).expand_as(x)
    m = m0.clone().detach().requires_grad_()
    log_s = s0.log().clone().detach().requires_grad_()
    opt = torch.optim.Adam([m, log_s], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(seed)
    m_path, s_path = [m.detach().clone()], [log_s.detach().exp()]
    for _ in range(steps):
        opt.zero_grad()
        loss = -elbo(model, x, Normal(m, log_s.exp()), n_samples, generator=g).sum()
        loss.backward()
        opt.step()
        schedule.step()
        m_path.append(m.detach().clone())
        s_path.append(log_s.detach().exp())
    return {"m": m.detach(), "s": log_s.detach().exp(),
            "m_path": torch.stack(m_path), "s_path": torch.stack(s_path)}


def initial_gaussian(model, x, starts: int = 19) -> tuple[torch.Tensor, torch.Tensor]:
    """A starting λ = (m, s) for every x: the best, by the exact ELBO, of `starts` values of m at
    posterior quantiles (5%..95%) times s at 1/8, 1/4, 1/2 and 1 posterior standard deviation.

    Multimodal posteriors give the ELBO several local maxima; from here gradient ascent climbs the
    highest one (from the posterior mean, between two modes, it may climb the wrong one).
    """
    x = validate.tensor("x", x)
    starts = validate.positive_int("starts", starts)
    grid, log_joint = quadrature_grid(model, x.reshape(-1))  # (G,), (N, G)
    m, s = _best_start(grid, log_joint, starts)
    return m.reshape(x.shape), s.reshape(x.shape)


def _best_start(grid, log_joint, starts):
    step = (grid[1] - grid[0]).item()
    w = torch.softmax(log_joint, -1)
    mean = (w * grid).sum(-1)
    std = (w * (grid - mean[:, None]) ** 2).sum(-1).sqrt()
    levels = torch.linspace(0.05, 0.95, starts, dtype=torch.float64) if starts > 1 else \
        torch.tensor([0.5], dtype=torch.float64)
    idx = torch.searchsorted(w.cumsum(-1), levels.expand(len(w), -1).contiguous())
    fractions = torch.tensor([1 / 8, 1 / 4, 1 / 2, 1], dtype=torch.float64)
    m0 = grid[idx.clamp(max=len(grid) - 1)].repeat(1, len(fractions))  # (N, 4 starts)
    s0 = (std[:, None] * fractions).repeat_interleave(starts, 1).clamp(min=3 * step)
    with torch.no_grad():  # in chunks of x: all starts at once for every x would take ~1 GB
        best = torch.cat([elbo_from_log_joint(lj[:, None, :], grid, m, s).argmax(-1, keepdim=True)
                          for lj, m, s in zip(log_joint.split(16), m0.split(16), s0.split(16),
                                              strict=True)])
    return m0.gather(1, best).squeeze(1), s0.gather(1, best).squeeze(1)


def optimal_gaussian(model, x, starts: int = 19, max_iter: int = 100) -> dict:
    """q*_i = argmax over (m, s) of the exact (quadrature) ELBO, for every x_i: the best member of
    the Gaussian family, from initial_gaussian's start polished with L-BFGS (float64).

    Returns {"m", "s", "elbo"} each of the shape of x.
    """
    x = validate.tensor("x", x)
    starts = validate.positive_int("starts", starts)
    max_iter = validate.positive_int("max_iter", max_iter)
    grid, log_joint = quadrature_grid(model, x.reshape(-1))  # (G,), (N, G)
    m0, s0 = _best_start(grid, log_joint, starts)
    m, log_s = m0.clone().requires_grad_(), s0.log().requires_grad_()
    lbfgs = torch.optim.LBFGS([m, log_s], lr=1, max_iter=max_iter, tolerance_grad=1e-11,
                              tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        loss = -elbo_from_log_joint(log_joint, grid, m, log_s.exp()).sum()
        loss.backward()
        return loss

    lbfgs.step(closure)
    with torch.no_grad():
        value = elbo_from_log_joint(log_joint, grid, m, log_s.exp())
    shape = x.shape
    return {"m": m.detach().reshape(shape), "s": log_s.detach().exp().reshape(shape),
            "elbo": value.reshape(shape)}


def quadrature_grid(model, x, stride: int = 4, below: float = 25.0):
    """(grid, log p_θ(x, z_g)) in float64 on every stride-th grid point, kept only where some x
    has log p_θ(x, z) within `below` nats of its maximum: a cheaper quadrature for optimisation
    and dashboards (the fine grid's extra points and far tails change the ELBO by < 1e-8 here).
    x: a 1-D tensor; log_joint has shape (len(x), G')."""
    x = validate.tensor("x", x, ndim=1)
    stride = validate.positive_int("stride", stride)
    grid, _ = _grid(model)
    with torch.no_grad():
        grid = grid[::stride].double()
        log_joint = model.log_joint(x.unsqueeze(-1), grid).double()
        keep = (log_joint - log_joint.max(-1, keepdim=True).values > -below).any(0)
        lo, hi = keep.nonzero().min().item(), keep.nonzero().max().item()
        lo, hi = max(lo - 1, 0), min(hi + 1, len(grid) - 1)
    return grid[lo:hi + 1], log_joint[:, lo:hi + 1]


def _learning_rate(lr) -> float:
    lr = validate.finite_float("lr", lr)
    if lr <= 0:
        raise ValueError(f"lr: expected a learning rate > 0, got {lr}")
    return lr


# --------------------------------------------------------------------------------------------
# Amortized inference: the encoder q_φ(z|x)
# --------------------------------------------------------------------------------------------


class Encoder(nn.Module):
    """q_φ(z|x) = N(z; μ_φ(x), σ_φ(x)²) with (μ_φ(x), log σ_φ(x)²) = MLP_φ(x): 1 → H → H → 2 (tanh),
    in float64 like the 1-D models of lesson 02.

    φ = the MLP's weights and biases, shared by every x; the μ and σ of q are its outputs.
    """

    def __init__(self, hidden: int = 32, seed: int = 0):
        super().__init__()
        hidden = validate.positive_int("hidden", hidden)
        seed = validate.positive_int("seed", seed, minimum=0)
        with torch.random.fork_rng():  # seeded weights, the global generator left untouched
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                                     nn.Tanh(), nn.Linear(hidden, 2)).double()

    def forward(self, x) -> Normal:
        x = validate.tensor("x", x)
        out = self.net(x.reshape(-1, 1).to(self.net[0].weight.dtype))
        mean, log_var = out[:, 0].reshape(x.shape), out[:, 1].reshape(x.shape)
        return Normal(mean, (0.5 * log_var.clamp(-20, 10)).exp())


def count_parameters(module: nn.Module) -> int:
    """The number of real numbers in a module's parameters (φ for an encoder)."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters())


def train_encoder(model, x, encoder: Encoder | None = None, steps: int = 1000, lr: float = 1e-2,
                  n_samples: int = 8, train_theta: bool = False, seed: int = 0) -> dict:
    """Maximise the mean reparameterised ELBO (1/N) Σ_i ELBO(q_φ(z|x_i)) over φ; with
    train_theta also over θ = model.parameters() (the VAE: θ and φ learned together).

    Full batch, Adam. Returns {"encoder", "elbo_path"} (the sampled mean ELBO at every step).
    """
    x = validate.tensor("x", x, ndim=1)
    steps, n_samples = validate.positive_int("steps", steps), validate.positive_int("n_samples",
                                                                                   n_samples)
    lr = _learning_rate(lr)
    encoder = Encoder(seed=seed) if encoder is None else encoder
    params = list(encoder.parameters())
    if train_theta:
        theta = model.parameters()
        theta = theta.values() if isinstance(theta, dict) else theta
        params += [p for p in theta if p.requires_grad]  # fixed components (no grad) stay fixed
    opt = torch.optim.Adam(params, lr=lr)
    g = torch.Generator().manual_seed(seed)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        value = elbo(model, x, encoder(x), n_samples, generator=g).mean()
        (-value).backward()
        opt.step()
        path.append(value.item())
    return {"encoder": encoder, "elbo_path": torch.tensor(path)}


def encoder_parameters(encoder: Encoder, x) -> tuple[torch.Tensor, torch.Tensor]:
    """(μ_φ(x), σ_φ(x)) for every x, detached: one forward pass."""
    if not isinstance(encoder, Encoder):
        raise ValueError(f"encoder: expected an inference.Encoder, got {type(encoder).__name__}")
    with torch.no_grad():
        q = encoder(x)
    return q.loc, q.scale


def gaps(model, x, encoder: Encoder, starts: int = 19) -> dict:
    """Per data point, by quadrature (Cremer, Li & Duvenaud 2018):

        approximation gap = log p_θ(x) - ELBO(q*),  amortization gap = ELBO(q*) - ELBO(q_φ(z|x)),

    q* the best Gaussian for that x (optimal_gaussian). Both are >= 0 and add up to the whole gap
    log p_θ(x) - ELBO(q_φ). Returns tensors of the shape of x, plus q*'s m and s.
    """
    x = validate.tensor("x", x, ndim=1)
    best = optimal_gaussian(model, x, starts=starts)
    grid, log_joint = quadrature_grid(model, x)
    with torch.no_grad():
        log_px = log_marginal_grid(model, x).double()
        mean, scale = encoder_parameters(encoder, x)
        elbo_enc = elbo_from_log_joint(log_joint, grid, mean.double(), scale.double())
    return {"log_marginal": log_px, "elbo_optimal": best["elbo"], "elbo_encoder": elbo_enc,
            "approximation": log_px - best["elbo"], "amortization": best["elbo"] - elbo_enc,
            "m": best["m"], "s": best["s"]}


# --------------------------------------------------------------------------------------------
# The linear VAE = probabilistic PCA (Tipping & Bishop 1999; Lucas et al. 2019)
# --------------------------------------------------------------------------------------------


def standardise(X) -> torch.Tensor:
    """(X - mean) / std per column (float64); a constant column is only centred (std taken as 1)."""
    X = validate.tensor("X", X, ndim=2, min_len=2).double()
    std = X.std(0, correction=0)
    return (X - X.mean(0)) / torch.where(std > 0, std, torch.ones_like(std))


class LinearVAE(nn.Module):
    """A linear-Gaussian VAE, in float64:

        prior      p_θ(z) = N(0, I_q)
        decoder    p_θ(x|z) = N(x; W z + μ, σ² I_d),           θ = (W, μ, σ)
        encoder    q_φ(z|x) = N(z; V (x - μ) + c, diag(v)),     φ = (V, c, v)

    The encoder's mean is linear in x and its variances are diagonal and the same for every x.
    Its decoder is exactly probabilistic PCA's model, so ELBO ≤ log p_θ(x) ≤ the pPCA maximum.
    """

    def __init__(self, d: int, q: int, seed: int = 0):
        super().__init__()
        d, q = validate.positive_int("d", d), validate.positive_int("q", q)
        g = torch.Generator().manual_seed(validate.positive_int("seed", seed, minimum=0))
        r = lambda *shape: 0.1 * torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
        self.W, self.mu, self.log_sigma2 = nn.Parameter(r(d, q)), nn.Parameter(r(d)), \
            nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.V, self.c, self.log_v = nn.Parameter(r(q, d)), nn.Parameter(r(q)), \
            nn.Parameter(torch.zeros(q, dtype=torch.float64))

    def _x(self, x):
        x = validate.tensor("x", x, ndim=2).double()
        if x.shape[1] != self.W.shape[0]:
            raise ValueError(f"x: expected rows of length d = {self.W.shape[0]}, got {x.shape[1]}")
        return x

    def prior(self) -> Normal:
        return Normal(torch.zeros(self.W.shape[1], dtype=torch.float64), 1.0)

    def likelihood(self, z) -> Normal:
        """p_θ(x|z) = N(W z + μ, σ² I) (z of shape (..., q))."""
        return Normal(z @ self.W.T + self.mu, (0.5 * self.log_sigma2).exp())

    def encoder(self, x) -> Normal:
        """q_φ(z|x) = N(V (x - μ) + c, diag(v)), one row per x."""
        x = self._x(x)
        mean = (x - self.mu) @ self.V.T + self.c
        return Normal(mean, (0.5 * self.log_v).exp().expand_as(mean))

    def marginal(self) -> MultivariateNormal:
        """p_θ(x) = N(μ, W Wᵀ + σ² I)."""
        d = self.W.shape[0]
        cov = self.W @ self.W.T + self.log_sigma2.exp() * torch.eye(d, dtype=torch.float64)
        return MultivariateNormal(self.mu, cov)

    def posterior(self, x) -> MultivariateNormal:
        """p_θ(z|x) = N(M⁻¹ Wᵀ (x - μ), σ² M⁻¹), M = Wᵀ W + σ² I."""
        x = self._x(x)
        s2 = self.log_sigma2.exp()
        M = self.W.T @ self.W + s2 * torch.eye(self.W.shape[1], dtype=torch.float64)
        mean = torch.linalg.solve(M, self.W.T @ (x - self.mu).T).T
        return MultivariateNormal(mean, s2 * torch.linalg.inv(M))

    def elbo_analytic(self, x) -> torch.Tensor:
        """The exact ELBO per row, q = N(m, diag(v)):

            E_q[log p_θ(x|z)] = -d/2 log 2πσ² - (‖x - W m - μ‖² + Σ_j v_j ‖W_j‖²) / 2σ²
            KL(q ‖ N(0, I))   = ½ Σ_j (v_j + m_j² - 1 - log v_j)
        """
        x = self._x(x)
        q = self.encoder(x)
        m, v = q.loc, q.scale**2
        d, s2 = x.shape[1], self.log_sigma2.exp()
        resid = ((x - m @ self.W.T - self.mu) ** 2).sum(-1) + (v * (self.W**2).sum(0)).sum(-1)
        expected = -0.5 * d * torch.log(2 * math.pi * s2) - resid / (2 * s2)
        return expected - kl_divergence(q, self.prior()).sum(-1)

    def mean_elbo_analytic(self, x) -> torch.Tensor:
        """(1/N) Σ_i ELBO(x_i), the same number as elbo_analytic(x).mean() but computed from the
        data's mean x̄ and second moment S = (1/N) Σ_i (x_i - μ)(x_i - μ)ᵀ, so one evaluation costs
        O(d² q) whatever N: with y = x - μ, m = V y + c and A = I - W V,
        (1/N) Σ_i ‖x_i - W m_i - μ‖² = tr(A S Aᵀ) - 2 (W c)ᵀ A ȳ + ‖W c‖².
        """
        x = self._x(x)
        y_bar = x.mean(0) - self.mu
        S = (x - self.mu).T @ (x - self.mu) / x.shape[0]
        return self._mean_elbo_from_moments(y_bar, S)

    def _mean_elbo_from_moments(self, y_bar, S) -> torch.Tensor:
        d = S.shape[0]
        s2, v = self.log_sigma2.exp(), self.log_v.exp()
        A = torch.eye(d, dtype=torch.float64) - self.W @ self.V
        b = self.W @ self.c
        resid = (A @ S * A).sum() - 2 * b @ (A @ y_bar) + b @ b + (v * (self.W**2).sum(0)).sum()
        expected = -0.5 * d * torch.log(2 * math.pi * s2) - resid / (2 * s2)
        mean_m2 = (self.V @ S * self.V).sum() + 2 * self.c @ (self.V @ y_bar) + self.c @ self.c
        kl = 0.5 * ((v - 1 - v.log()).sum() + mean_m2)
        return expected - kl

    def elbo_sampled(self, x, n_samples: int = 1, generator=None) -> torch.Tensor:
        """The reparameterised ELBO per row: (1/S) Σ_s log p_θ(x|z_s) - KL(q ‖ p(z)) (analytic KL)."""
        x = self._x(x)
        q = self.encoder(x)
        z = reparameterised_sample(q, n_samples, generator)
        return self.likelihood(z).log_prob(x).sum(-1).mean(0) - kl_divergence(q, self.prior()).sum(-1)


def fit_linear_vae_analytic(X, q: int = 2, seed: int = 0, max_iter: int = 100) -> dict:
    """Maximise the analytic ELBO (1/N) Σ_i ELBO(x_i) of a LinearVAE, full batch, with L-BFGS
    (through mean_elbo_analytic's moments: a step costs O(d² q), not O(N d q)).

    Initialised at random (seeded), except μ = the data mean and the encoder mean at 0.
    Returns {"vae", "elbo_per_image"}.
    """
    X = validate.tensor("X", X, ndim=2, min_len=2).double()
    q = validate.positive_int("q", q)
    vae = LinearVAE(X.shape[1], q, seed=seed)
    with torch.no_grad():
        vae.mu.copy_(X.mean(0))
    opt = torch.optim.LBFGS(vae.parameters(), lr=1, max_iter=validate.positive_int("max_iter",
                                                                                  max_iter),
                            history_size=50, tolerance_grad=1e-10, tolerance_change=1e-13,
                            line_search_fn="strong_wolfe")
    x_bar, X2 = X.mean(0), X.T @ X / X.shape[0]  # the ELBO depends on the data only through these

    def closure():
        opt.zero_grad()
        y_bar = x_bar - vae.mu
        S = X2 - torch.outer(x_bar, vae.mu) - torch.outer(vae.mu, x_bar) + torch.outer(vae.mu,
                                                                                       vae.mu)
        loss = -vae._mean_elbo_from_moments(y_bar, S)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        value = vae.elbo_analytic(X).mean().item()
    return {"vae": vae, "elbo_per_image": value}


def fit_linear_vae_sampled(X, q: int = 2, steps: int = 1000, batch_size: int = 100,
                           lr: float = 0.05, n_samples: int = 1, seed: int = 0) -> dict:
    """Maximise the sampled ELBO (one reparameterised z per image, analytic KL) with minibatches
    and Adam, the learning rate decayed to 0 on a cosine schedule.

    Returns {"vae", "elbo_path"} (the minibatch ELBO per image at every step).
    """
    X = validate.tensor("X", X, ndim=2, min_len=2).double()
    q, steps = validate.positive_int("q", q), validate.positive_int("steps", steps)
    batch_size = validate.positive_int("batch_size", batch_size)
    lr = _learning_rate(lr)
    vae = LinearVAE(X.shape[1], q, seed=seed)
    with torch.no_grad():
        vae.mu.copy_(X.mean(0))
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(seed)
    n, path = X.shape[0], []
    for _ in range(steps):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=g)
        opt.zero_grad()
        value = vae.elbo_sampled(X[idx], n_samples, generator=g).mean()
        (-value).backward()
        opt.step()
        schedule.step()
        path.append(value.item())
    return {"vae": vae, "elbo_path": torch.tensor(path)}
