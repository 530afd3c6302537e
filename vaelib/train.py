"""Lessons 05-06: AEVB's Algorithm 1 (Kingma & Welling 2013, §2.3), the one training loop for θ and φ.

Lesson 05 shows `train`'s source as it is: one function, in AEVB's names, its checks and snapshots in
the helpers below. What only a benchmark needs wraps the optimiser in benchmarks/vae_digits.py.
"""

import torch
from tqdm.auto import tqdm

from vaelib import validate
from vaelib.vae import VAE

COURSE_SETTING = dict(decoder="bernoulli", hidden=(200,), activation="tanh")
COURSE_TRAINING = dict(epochs=60, batch_size=100, lr=1e-2)


def train(model: VAE, X, *, epochs=60, batch_size=100, lr=1e-2, optimizer=torch.optim.Adam,
          kl_warmup=0, snapshots=0, x_val=None, seed=0, progress=True) -> dict:
    """AEVB's Algorithm 1 with eq. 10's estimator (the KL in closed form) and L = 1, over `epochs`
    passes through X. Returns {"train": the mean ELBO per image in each epoch, "val": x_val's ELBO
    after each epoch (the same ε each time), "snapshots": (step, state_dict) pairs, θ_k and φ_k at
    `snapshots` steps spaced geometrically, "steps_per_epoch"}. kl_warmup: lesson 06's."""
    X, x_val, N, M, kept = _checked(model, X, x_val, epochs, batch_size, lr, optimizer, kl_warmup,
                                    snapshots, seed)
    rng, step = torch.Generator(X.device).manual_seed(seed), 0
    phi = list(model.encoder.parameters())                                 # φ: the encoder's
    theta = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]  # θ: the rest
    update = optimizer([{"params": theta}, {"params": phi}], lr=lr)  # θ, φ initialised: one optimiser
    history = {"train": [], "val": [], "snapshots": [], "steps_per_epoch": -(-N // M)}
    _keep(model.train(), step, kept, history)                 # θ_0, φ_0 for the training explorer
    for epoch in (bar := tqdm(range(epochs), desc="training", disable=not progress)):   # repeat
        beta, total = min(1.0, (epoch + 1) / kl_warmup) if kl_warmup else 1.0, 0.0
        for X_M in X[torch.randperm(N, generator=rng, device=X.device)].split(M):   # X^M: M images
            eps = torch.randn(len(X_M), model.z_dim, generator=rng, device=X.device)  # ε ~ p(ε)
            q = model.encoder(X_M)                           # q_φ(z|x): its m and s for each x
            z = q.mean + q.stddev * eps                      # z = g_φ(ε, x) = m + s ⊙ ε       (eq. 4)
            log_lik, kl = model.elbo_terms(X_M, q, z[None])  # log p_θ(x|z), KL(q_φ(z|x) ‖ p_θ(z))
            L_M = (log_lik - beta * kl).mean()               # L̃^M (eq. 8), the mean for (N/M) Σ
            update.zero_grad()
            (-L_M).backward()                                # g = ∇_θ,φ L̃^M (torch descends -L̃^M)
            update.step()                                    # θ, φ <- updated with g
            step, total = step + 1, total + (log_lik - kl).sum().item()
            _keep(model, step, kept, history)                # θ_k, φ_k for the training explorer
        history["train"].append(total / N)
        history["val"] += [] if x_val is None else [_elbo(model, x_val, seed + 1)]
        bar.set_postfix(ELBO=f"{total / N:.2f}")
    model.eval()
    return history


def _checked(model, X, x_val, epochs, batch_size, lr, optimizer, kl_warmup, snapshots, seed):
    """train()'s arguments checked; the rows of X and x_val, N, M and the steps at which to keep θ_k, φ_k."""
    validate.instance("model", model, VAE, "a vaelib.vae.VAE")
    X, x_val = model.check_x(X), None if x_val is None else model.check_x(x_val)
    epochs, M = validate.positive_int("epochs", epochs), validate.positive_int("batch_size", batch_size)
    validate.number("lr", lr, above=0)
    validate.positive_int("kl_warmup", kl_warmup, minimum=0)
    validate.positive_int("seed", seed, minimum=0)
    if not callable(optimizer):
        raise ValueError("optimizer: expected a torch.optim class (or a function of (param_groups, "
                         f"lr=...) returning an optimiser), got {optimizer!r}")
    count = validate.positive_int("snapshots", snapshots, minimum=0)
    if count == 1:
        raise ValueError("snapshots: expected 0 (none) or a whole number >= 2, got 1")
    return X, x_val, len(X), M, _snapshot_steps(count, epochs * -(-len(X) // M))


def _snapshot_steps(count: int, total: int) -> set:
    """Step 0, then count - 1 distinct steps from 1 to `total` spaced geometrically (epoch 1 learns most)."""
    if count > total + 1:
        raise ValueError(f"snapshots: expected at most {total + 1} (one per step and the start), got {count}")
    steps = [0]
    for i in range(1, count - 1):  # at least one above the one before
        steps.append(max(steps[-1] + 1, round(total ** ((i - 1) / (count - 2)))))
    return {*steps, total} if count else set()


def _keep(model, step: int, kept: set, history: dict) -> None:
    """θ_k, φ_k (a copy of the state_dict) if `step` is one of the snapshot steps."""
    if step in kept:
        history["snapshots"].append((step, {k: v.detach().clone() for k, v in model.state_dict().items()}))


def _elbo(model, x, seed: int) -> float:
    """The mean SGVB ELBO of the rows of x, ε drawn from `seed` (the same ε at every call)."""
    model.eval()
    with torch.no_grad():
        value = model.elbo(x, generator=torch.Generator(x.device).manual_seed(seed)).mean().item()
    model.train()
    return value
