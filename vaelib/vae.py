"""Lesson 05: the VAE of AEVB (Kingma & Welling 2013) Appendix C, on real digits.

One generative model p_θ(x, z) = p_θ(z) p_θ(x|z) and one encoder q_φ(z|x):
    p_θ(z)    = N(z; 0, I)                         the prior "lacks parameters" (AEVB §3)
    p_θ(x|z)  = a distribution whose parameters are the decoder's OUTPUTS at z:
                Bernoulli(y),  y = sigmoid(MLP_θ(z))                       (C.1)
                N(μ, σ² I),    (μ, log σ²) = MLP_θ(z)                       (C.2)
                Categorical over the grey levels 0..16 of each pixel       (Tomczak's decoder)
    q_φ(z|x)  = N(μ, σ² I),    (μ, log σ²) = MLP_φ(x)                       (C.2)
θ is the decoder's weights and biases, φ the encoder's. Every component returns a
torch.distributions object (Independent over pixels or latents), so log_prob and sample are
torch's own.

The SGVB estimator with an analytic KL (AEVB eq. 10), L = 1 sample per data point:
    ELBO(x) ≈ -KL(q_φ(z|x) ‖ p_θ(z)) + log p_θ(x|z),   z = μ + σ ⊙ ε,  ε ~ N(0, I)
    KL = -½ Σ_j (1 + log σ_j² - μ_j² - σ_j²)
and the importance-weighted bound (Burda et al. 2015) that estimates log p_θ(x):
    L_K(x) = log (1/K) Σ_k p_θ(x, z_k) / q_φ(z_k|x),  z_k ~ q_φ(z|x);  L_1 = ELBO ≤ L_K ≤ log p_θ(x).
"""

import math
import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.distributions import Bernoulli, Categorical, Independent, Normal

from vaelib import threads as _threads
from vaelib import validate

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}
OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax, "adagrad": torch.optim.Adagrad}
LEVELS = 17  # grey levels 0..16 of the bundled digits
CACHE_DIR = Path(os.environ.get("VAELIB_CACHE", Path(__file__).resolve().parent.parent / ".cache"))


def _hidden(hidden) -> tuple[int, ...]:
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if not isinstance(hidden, tuple | list):
        raise ValueError(f"hidden: expected a tuple of layer widths, e.g. (400,), got {hidden!r}")
    return tuple(validate.positive_int("hidden", h) for h in hidden)


def mlp(sizes, activation: str = "tanh", dropout: float = 0.0) -> nn.Sequential:
    """Linear layers of the given sizes with `activation` (and dropout, when > 0, active in
    training only) between them; nothing after the last."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {list(ACTIVATIONS)}, got {activation!r}")
    if not 0 <= validate.finite_float("dropout", dropout) < 1:
        raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout}")
    if len(sizes) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
        raise ValueError(f"sizes: expected two or more layer widths, whole numbers >= 1, got {sizes!r}")
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class GaussianEncoder(nn.Module):
    """q_φ(z|x) = N(z; μ, diag σ²) with (μ, log σ²) = MLP_φ(x) (AEVB C.2); φ = this net's weights."""

    def __init__(self, x_dim: int = 64, z_dim: int = 2, hidden=(400,), activation="tanh",
                 dropout: float = 0.0):
        super().__init__()
        self.x_dim = validate.positive_int("x_dim", x_dim)
        self.z_dim = validate.positive_int("z_dim", z_dim)
        self.net = mlp((self.x_dim, *_hidden(hidden), 2 * self.z_dim), activation, dropout)

    def forward(self, x: torch.Tensor) -> Independent:
        mu, log_var = self.net(x).chunk(2, dim=-1)
        return Independent(Normal(mu, (0.5 * log_var).exp(), validate_args=False), 1)


class _Decoder(nn.Module):
    """p_θ(x|z): an MLP_θ maps z to the parameters of a distribution over the x_dim pixels."""

    outputs_per_pixel = 1

    def __init__(self, z_dim: int = 2, x_dim: int = 64, hidden=(400,), activation="tanh",
                 dropout: float = 0.0):
        super().__init__()
        self.z_dim = validate.positive_int("z_dim", z_dim)
        self.x_dim = validate.positive_int("x_dim", x_dim)
        self.net = mlp((self.z_dim, *_hidden(hidden), self.outputs_per_pixel * self.x_dim),
                       activation, dropout)


class BernoulliDecoder(_Decoder):
    """p_θ(x|z) = Π_d Bernoulli(x_d; y_d), y = sigmoid(MLP_θ(z)) (AEVB C.1).

    log p_θ(x|z) = Σ_d x_d log y_d + (1 - x_d) log(1 - y_d), computed from the logits."""

    def forward(self, z: torch.Tensor) -> Independent:
        return Independent(Bernoulli(logits=self.net(z), validate_args=False), 1)


class GaussianDecoder(_Decoder):
    """p_θ(x|z) = N(x; μ, diag σ²) with (μ, log σ²) = MLP_θ(z) (AEVB C.2)."""

    outputs_per_pixel = 2

    def forward(self, z: torch.Tensor) -> Independent:
        mu, log_var = self.net(z).chunk(2, dim=-1)
        return Independent(Normal(mu, (0.5 * log_var).exp(), validate_args=False), 1)


class LevelBasis(nn.Module):
    """The 17 logits of each pixel built from `rank` numbers u_d (the layer before outputs them)
    and `rank` level profiles B shared by every pixel, plus the pixel's own bias c_d:
        logits[d, k] = Σ_r u_{d,r} B[r, k] + c[d, k]
    A plain last layer gives each pixel 17 free logits; this one ties them, so a profile learnt
    on one pixel ("ink is a high grey level") serves all 64. Part of θ."""

    def __init__(self, x_dim: int, rank: int):
        super().__init__()
        self.x_dim = validate.positive_int("x_dim", x_dim)
        self.rank = validate.positive_int("rank", rank)
        self.profiles = nn.Parameter(torch.randn(self.rank, LEVELS) / self.rank**0.5)  # B
        self.bias = nn.Parameter(torch.zeros(self.x_dim, LEVELS))  # c

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        u = u.unflatten(-1, (self.x_dim, self.rank))
        return (u @ self.profiles + self.bias).flatten(-2)


class CategoricalDecoder(_Decoder):
    """p_θ(x|z) = Π_d Categorical(x_d; π_d), π_d = softmax of 17 logits of MLP_θ(z) per pixel:
    one probability for each grey level 0..16 (the decoder of Tomczak's VAE on these digits).

    levels_rank: None, the last layer gives 17 free logits per pixel (Tomczak's); r, the MLP
    gives r numbers per pixel and a LevelBasis turns them into the 17 logits."""

    outputs_per_pixel = LEVELS

    def __init__(self, z_dim: int = 2, x_dim: int = 64, hidden=(400,), activation="tanh",
                 dropout: float = 0.0, levels_rank: int | None = None):
        if levels_rank is not None:
            levels_rank = validate.positive_int("levels_rank", levels_rank)
            self.outputs_per_pixel = levels_rank
        super().__init__(z_dim, x_dim, hidden, activation, dropout)
        if levels_rank is not None:
            self.net.append(LevelBasis(self.x_dim, levels_rank))

    def forward(self, z: torch.Tensor) -> Independent:
        logits = self.net(z).unflatten(-1, (self.x_dim, LEVELS))
        return Independent(Categorical(logits=logits, validate_args=False), 1)


DECODERS = {"bernoulli": BernoulliDecoder, "gaussian": GaussianDecoder,
            "categorical": CategoricalDecoder}


def kl_to_standard_normal(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = -½ Σ_j (1 + log σ_j² - μ_j² - σ_j²) (AEVB Appendix B),
    summed over the last axis."""
    mu, sigma = validate.tensor("mu", mu), validate.scale("sigma", sigma)
    return -0.5 * (1 + 2 * sigma.log() - mu**2 - sigma**2).sum(-1)


class VAE(nn.Module):
    """p_θ(x, z) = p_θ(z) p_θ(x|z) with p_θ(z) = N(0, I), and the encoder q_φ(z|x).

    θ = decoder.parameters(), φ = encoder.parameters(); the prior has no parameters."""

    def __init__(self, encoder: GaussianEncoder, decoder: _Decoder):
        super().__init__()
        if not isinstance(encoder, GaussianEncoder):
            raise ValueError(f"encoder: expected a GaussianEncoder, got {type(encoder).__name__}")
        if not isinstance(decoder, _Decoder):
            raise ValueError(f"decoder: expected one of {[d.__name__ for d in DECODERS.values()]}, "
                             f"got {type(decoder).__name__}")
        if (encoder.z_dim, encoder.x_dim) != (decoder.z_dim, decoder.x_dim):
            raise ValueError(f"decoder: expected z_dim={encoder.z_dim}, x_dim={encoder.x_dim} to "
                             f"match the encoder, got z_dim={decoder.z_dim}, x_dim={decoder.x_dim}")
        self.encoder, self.decoder = encoder, decoder
        self.z_dim, self.x_dim = encoder.z_dim, encoder.x_dim

    def prior(self) -> Independent:
        """p_θ(z) = N(z; 0, I): fixed, no parameters (AEVB §3)."""
        p = next(self.parameters())
        zeros = torch.zeros(self.z_dim, device=p.device, dtype=p.dtype)
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def _check_x(self, x) -> torch.Tensor:
        x = validate.tensor("x", x, ndim=2)
        if x.shape[1] != self.x_dim:
            raise ValueError(f"x: expected shape (N, {self.x_dim}), got {tuple(x.shape)}")
        p = next(self.parameters())
        return x.to(device=p.device, dtype=p.dtype)

    def _elbo_terms(self, x, eps=None, generator=None):
        """(log p_θ(x|z), KL(q_φ(z|x) ‖ p_θ(z))) per row, z = μ + σ ⊙ ε one reparameterised draw."""
        q = self.encoder(x)
        mu, sigma = q.base_dist.loc, q.base_dist.scale
        if eps is None:
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + sigma * eps  # the reparameterisation z = g_φ(ε, x)
        return self.decoder(z).log_prob(x), kl_to_standard_normal(mu, sigma)

    def _elbo(self, x, eps=None, generator=None):
        log_likelihood, kl = self._elbo_terms(x, eps, generator)
        return log_likelihood - kl

    def elbo(self, x, eps=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """SGVB, AEVB eq. 10 with L = 1: -KL(q_φ(z|x) ‖ p_θ(z)) + log p_θ(x | μ + σ ⊙ ε), one value
        per row of x (N, x_dim). ε ~ N(0, I) is drawn from `generator` unless given as `eps`."""
        x = self._check_x(x)
        if eps is not None:
            eps = validate.tensor("eps", eps, ndim=2).to(x)
            if eps.shape != (x.shape[0], self.z_dim):
                raise ValueError(f"eps: expected shape ({x.shape[0]}, {self.z_dim}), "
                                 f"got {tuple(eps.shape)}")
        return self._elbo(x, eps, generator)

    @torch.no_grad()
    def log_marginal(self, x, K: int = 1000, generator: torch.Generator | None = None,
                     max_rows: int = 8192, threads: int | None = 1) -> torch.Tensor:
        """Importance-weighted estimate of log p_θ(x), one per row of x:
        L_K = logsumexp_k [log p_θ(x|z_k) + log p_θ(z_k) - log q_φ(z_k|x)] - log K, z_k ~ q_φ(z|x).
        Images are taken a few at a time so at most `max_rows` samples z are decoded at once
        (memory stays at a few MB). threads: as in `train`."""
        x = self._check_x(x)
        K = validate.positive_int("K", K)
        max_rows = validate.positive_int("max_rows", max_rows)
        with _threads(threads):
            return self._log_marginal(x, K, generator, max_rows)

    def _log_marginal(self, x, K, generator, max_rows):
        prior, out = self.prior(), []
        for xc in x.split(max(1, max_rows // K)):
            q = self.encoder(xc)
            mu, sigma = q.base_dist.loc, q.base_dist.scale
            eps = torch.randn((K, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
            z = mu + sigma * eps  # (K, n, z_dim)
            log_w = self.decoder(z).log_prob(xc) + prior.log_prob(z) - q.log_prob(z)
            out.append(log_w.logsumexp(0) - math.log(K))
        return torch.cat(out)

    @torch.no_grad()
    def test_elbo(self, x, samples: int = 10, seed: int = 0) -> float:
        """Mean ELBO per image over the rows of x, each image's SGVB estimate averaged over
        `samples` draws of ε (the same expectation as one draw, less noise)."""
        x = self._check_x(x)
        samples = validate.positive_int("samples", samples)
        g = _generator(seed, x.device)
        return torch.stack([self._elbo(x, generator=g) for _ in range(samples)]).mean().item()


def make_vae(decoder: str = "bernoulli", z_dim: int = 2, x_dim: int = 64, hidden=(400,),
             activation: str = "tanh", seed: int = 0, dropout: float = 0.0,
             levels_rank: int | None = None) -> VAE:
    """A VAE with a Gaussian MLP encoder and the named decoder, weights drawn from `seed`.
    decoder: 'bernoulli' (C.1), 'gaussian' (C.2) or 'categorical' (17 grey levels); the
    decoder's hidden widths mirror the encoder's. levels_rank: categorical only, see
    CategoricalDecoder."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder: expected one of {list(DECODERS)}, got {decoder!r}")
    if levels_rank is not None and decoder != "categorical":
        raise ValueError(f"levels_rank: only the categorical decoder has grey levels to tie, "
                         f"got levels_rank={levels_rank!r} with decoder={decoder!r}")
    torch.manual_seed(validate.positive_int("seed", seed, minimum=0))
    enc = GaussianEncoder(x_dim, z_dim, hidden, activation, dropout)
    extra = {} if levels_rank is None else {"levels_rank": levels_rank}
    dec = DECODERS[decoder](z_dim, x_dim, tuple(reversed(_hidden(hidden))), activation, dropout,
                            **extra)
    return VAE(enc, dec).to(_device())


def _device():
    from vaelib import device

    return device()


def _generator(seed: int, device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def train(model: VAE, x_train, *, epochs: int = 100, batch_size: int = 64, lr: float = 1e-3,
          optimizer: str = "adam", seed: int = 0, x_val=None, patience: int | None = None,
          lr_decay: bool = False, ema: float | None = None, weight_decay: float = 0.0,
          kl_warmup: int = 0, threads: int | None = 1, progress: bool = True) -> dict:
    """Maximise the mean SGVB ELBO of the minibatches over θ and φ together.

    Each epoch visits x_train once in a seeded random order. With x_val, the validation ELBO
    is recorded each epoch; with `patience`, training stops once it has not improved for
    `patience` epochs and the best weights (by validation ELBO) are restored. lr_decay: cosine
    decay of the learning rate to 0 over `epochs`. ema: keep an exponential moving average
    of the weights, θ̄ <- ema θ̄ + (1 - ema) θ after each step (likewise φ), validate with it
    and return it (a cheap regulariser on small data). kl_warmup: for the first `kl_warmup`
    epochs the KL term is weighted by β = epoch/kl_warmup (1/W, 2/W, ..., 1), so the decoder
    learns to use z before the KL pulls q_φ(z|x) onto the prior (KL annealing, Bowman et al.
    2016; Sønderby et al. 2016); patience counts only after it. The β-weighted objective is
    not a bound, so only the training steps see β: the recorded train and val values are the
    ELBO itself. Returns the history: per-epoch mean train ELBO, val ELBO, seconds, and the
    best epoch.

    threads: CPU threads for the duration of training (restored afterwards); None keeps
    torch's setting. One is the default: these networks are too small to gain from more,
    and on a shared machine extra threads wait on each other (measured: 20x slower)."""
    if not isinstance(model, VAE):
        raise ValueError(f"model: expected a vaelib.vae.VAE, got {type(model).__name__}")
    x_train = model._check_x(x_train)
    x_val = None if x_val is None else model._check_x(x_val)
    epochs = validate.positive_int("epochs", epochs)
    batch_size = validate.positive_int("batch_size", batch_size)
    if validate.finite_float("lr", lr) <= 0:
        raise ValueError(f"lr: expected a learning rate > 0, got {lr}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if patience is not None:
        patience = validate.positive_int("patience", patience)
        if x_val is None:
            raise ValueError("patience: early stopping needs x_val (the validation data)")
    if ema is not None and not 0 < validate.finite_float("ema", ema) < 1:
        raise ValueError(f"ema: expected a decay in (0, 1), got {ema}")
    if not validate.finite_float("weight_decay", weight_decay) >= 0:
        raise ValueError(f"weight_decay: expected a number >= 0, got {weight_decay}")
    kl_warmup = validate.positive_int("kl_warmup", kl_warmup, minimum=0)
    seed = validate.positive_int("seed", seed, minimum=0)
    with _threads(threads):
        return _fit(model, x_train, x_val, epochs, batch_size, lr, optimizer, seed, patience,
                    lr_decay, ema, weight_decay, kl_warmup, progress)


def _fit(model, x, x_val, epochs, batch_size, lr, optimizer, seed, patience, lr_decay, ema,
         weight_decay, kl_warmup, progress):
    import copy

    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    g = _generator(seed, x.device)
    fast = {"foreach": True} if optimizer == "adamax" else {"fused": True}  # adamax has no fused step
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay, **fast)
    params = list(model.parameters())
    shadow = copy.deepcopy(model) if ema is not None else model  # the weights we validate
    shadow_params = list(shadow.parameters())
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs) if lr_decay else None
    hist = {"train": [], "val": [], "seconds": [], "best_epoch": None}
    best, best_state, start = -math.inf, None, time.perf_counter()
    bar = tqdm(range(epochs), desc="training", disable=not progress, mininterval=0.5)
    for epoch in bar:
        model.train()
        total, beta = 0.0, min(1.0, (epoch + 1) / kl_warmup) if kl_warmup else 1.0
        for idx in torch.randperm(len(x), generator=g, device=x.device).split(batch_size):
            log_likelihood, kl = model._elbo_terms(x[idx], generator=g)
            loss = -(log_likelihood - beta * kl).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    torch._foreach_lerp_(shadow_params, params, 1 - ema)
            total += (log_likelihood - kl).sum().item()
        if sched is not None:
            sched.step()
        hist["train"].append(total / len(x))
        hist["seconds"].append(time.perf_counter() - start)
        if x_val is not None:
            shadow.eval()
            with torch.no_grad():  # the same ε every epoch: epochs differ by the weights only
                val = shadow._elbo(x_val, generator=_generator(seed + 1, x.device)).mean().item()
            hist["val"].append(val)
            if val > best:
                best, hist["best_epoch"] = val, epoch
                best_state = {k: v.detach().clone() for k, v in shadow.state_dict().items()}
            bar.set_postfix(train=f"{hist['train'][-1]:.2f}", val=f"{val:.2f}", refresh=False)
            if patience is not None and epoch - max(hist["best_epoch"], kl_warmup - 1) >= patience:
                break
        else:
            bar.set_postfix(train=f"{hist['train'][-1]:.2f}", refresh=False)
    bar.close()
    if patience is not None and best_state is not None:
        model.load_state_dict(best_state)
    elif ema is not None:
        model.load_state_dict(shadow.state_dict())
    model.eval()
    return hist


def save_weights(model: nn.Module, path) -> Path:
    """Write model.state_dict() to `path` atomically: a temporary file in the same folder, then
    os.replace, so a reader never sees half a file."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(model.state_dict(), f)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a cache file is ordinary data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_weights(model: nn.Module, path) -> bool:
    """Load a state_dict saved by save_weights (torch.load with weights_only=True).

    True if it loaded; False, with a printed reason, if the file is missing, corrupt or does
    not fit the model: the caller then trains again. Never raises for a bad file."""
    path = Path(path)
    if not path.is_file():
        print(f"No cached weights at {path}: training the model.")
        return False
    try:
        state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
        current = model.state_dict()
        if not isinstance(state, dict) or set(state) != set(current) or any(
                state[k].shape != current[k].shape for k in current):
            raise ValueError("the saved tensors do not fit this model's layers")
        model.load_state_dict(state)
    except Exception as e:  # a truncated, corrupt or mismatched file: retrain, never crash
        print(f"The cached weights at {path} could not be read ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:120] if str(e) else 'no detail'}): training again.")
        return False
    return True


COURSE_SETTING = dict(decoder="bernoulli", hidden=(200,), activation="tanh")
COURSE_TRAINING = dict(epochs=60, batch_size=100, lr=1e-2, lr_decay=True)


def _setting_tag() -> str:
    """A short fingerprint of the course setting, so changed settings never load stale weights."""
    import zlib

    return f"{zlib.crc32(repr((COURSE_SETTING, COURSE_TRAINING)).encode()):08x}"


def course_model(z_dim: int = 2, seed: int = 0, cache: bool = True, progress: bool = False):
    """The notebook's binarised-digits VAE (Bernoulli decoder), trained on the train split.

    With cache=True the weights are read from .cache/ when a valid file is there, else trained
    (a few seconds) and written. Returns (model, history); history is None when loaded."""
    z_dim = validate.positive_int("z_dim", z_dim)
    model = make_vae(z_dim=z_dim, seed=seed, **COURSE_SETTING)
    path = CACHE_DIR / f"vae_digits_binary_z{z_dim}_seed{seed}_{_setting_tag()}.pt"
    if cache and load_weights(model, path):
        return model.eval(), None
    from vaelib.data import digits

    hist = train(model, digits("train", "binary"), x_val=digits("val", "binary"), seed=seed,
                 progress=progress, **COURSE_TRAINING)
    if cache:
        save_weights(model, path)
    return model, hist


# --- the short PyTorch VAE example, rebuilt for 64 pixels, beside vaelib's -----------------------

class ExampleVAE(nn.Module):
    """The VAE of the PyTorch examples repository (examples/vae/main.py: 784-400-20, ReLU,
    sigmoid output, loss = BCE summed + KL), with x_dim = 64 for the 8x8 digits: 64-400-20.

    Written in the example's own style (fc1, fc21, fc22, fc3, fc4; encode, reparameterize,
    decode) so the two can be read side by side; `eps` lets a test feed both the same noise."""

    def __init__(self, x_dim: int = 64, hidden: int = 400, z_dim: int = 20):
        super().__init__()
        self.x_dim = validate.positive_int("x_dim", x_dim)
        hidden, z_dim = validate.positive_int("hidden", hidden), validate.positive_int("z_dim", z_dim)
        self.fc1 = nn.Linear(x_dim, hidden)
        self.fc21 = nn.Linear(hidden, z_dim)
        self.fc22 = nn.Linear(hidden, z_dim)
        self.fc3 = nn.Linear(z_dim, hidden)
        self.fc4 = nn.Linear(hidden, x_dim)

    def encode(self, x):
        h1 = torch.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps=None):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std) if eps is None else eps
        return mu + eps * std

    def decode(self, z):
        h3 = torch.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x.view(-1, self.x_dim))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def example_loss(recon_x, x, mu, logvar) -> torch.Tensor:
    """The example's loss_function: BCE summed over pixels and batch + KLD, where
    KLD = -0.5 * sum(1 + logvar - mu² - exp(logvar)) (AEVB Appendix B): the NEGATIVE ELBO summed."""
    bce = nn.functional.binary_cross_entropy(recon_x, x.view(-1, recon_x.shape[-1]),
                                             reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def vae_from_example(example: ExampleVAE) -> VAE:
    """A vaelib VAE (ReLU MLPs, Bernoulli decoder) holding exactly the example's weights:
    encoder = fc1 then [fc21; fc22] stacked, decoder = fc3, fc4 (the sigmoid is in Bernoulli)."""
    if not isinstance(example, ExampleVAE):
        raise ValueError(f"example: expected an ExampleVAE, got {type(example).__name__}")
    hidden, z_dim = example.fc1.out_features, example.fc21.out_features
    model = make_vae("bernoulli", z_dim, example.x_dim, (hidden,), "relu")
    model = model.to(example.fc1.weight.device)
    enc, dec = model.encoder.net, model.decoder.net
    with torch.no_grad():
        enc[0].load_state_dict(example.fc1.state_dict())
        enc[2].weight.copy_(torch.cat([example.fc21.weight, example.fc22.weight]))
        enc[2].bias.copy_(torch.cat([example.fc21.bias, example.fc22.bias]))
        dec[0].load_state_dict(example.fc3.state_dict())
        dec[2].load_state_dict(example.fc4.state_dict())
    return model
