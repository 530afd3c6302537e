"""Lesson 05: training θ and φ over minibatches, and the weights cache (longer because it holds both).

Each step maximises a minibatch's MEAN SGVB ELBO (AEVB eq. 10, L = 1) over θ and φ in one optimiser.
Unlike Algorithm 1 (lesson 05 runs both): the mean, not eq. 8's (N/M) Σ_i (Adam and Adagrad step
alike for both, SGD does not); epochs visit the data in a shuffled order; Adam by default.
weight_decay w acts on θ alone (everything but the encoder): on the mean loss it is the prior
p(θ) = N(0, I/(N w)), so AEVB §5's N(0, I) is w = 1/N.
"""

import copy
import os
import tempfile
import time
import zlib
from pathlib import Path

import torch

from vaelib import elbo, validate
from vaelib import threads as torch_threads
from vaelib.data import digits
from vaelib.vae import VAE, make_vae

OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax, "adagrad": torch.optim.Adagrad,
              "sgd": torch.optim.SGD}
CACHE_DIR = Path(os.environ.get("VAELIB_CACHE", Path(__file__).resolve().parent.parent / ".cache"))
COURSE_SETTING = dict(decoder="bernoulli", hidden=(200,), activation="tanh")
COURSE_TRAINING = dict(epochs=60, batch_size=100, lr=1e-2, lr_decay=True)


def train(model: VAE, x_train, *, epochs: int = 100, batch_size: int = 64, lr: float = 1e-3,
          optimizer: str = "adam", seed: int = 0, x_val=None, patience: int | None = None,
          lr_decay: bool = False, ema: float | None = None, weight_decay: float = 0.0,
          kl_warmup: int = 0, snapshots: int = 0, threads: int | None = 1, progress: bool = True) -> dict:
    """Maximise the mean SGVB ELBO over θ and φ; each epoch visits x_train once in a seeded order.

    x_val: the validation ELBO (the same ε every epoch) is recorded; with `patience` training stops
    after that many epochs without improvement and restores the best weights. lr_decay: cosine decay
    to 0. ema: the weights averaged, θ̄ <- ema θ̄ + (1 - ema) θ after each step (likewise φ), validated
    and returned. kl_warmup W (KL annealing, Bowman et al. 2016): the KL weighted by β = (e + 1)/W in
    epoch e, so 1/W first and 1 from epoch W - 1 on; patience counts after it; the values recorded
    are the ELBO itself. snapshots K >= 2: θ_k, φ_k (the validated weights) at step 0 and after K - 1
    steps spaced geometrically up to the last (lesson 05's training explorer).
    Returns {"train", "val", "seconds"} per epoch, "best_epoch", "steps_per_epoch" and "snapshots",
    (step, state_dict) pairs.
    """
    validate.instance("model", model, VAE, "a vaelib.vae.VAE")
    x_train, x_val = model.check_x(x_train), None if x_val is None else model.check_x(x_val)
    run = _settings(epochs, batch_size, lr, optimizer, seed, patience, lr_decay, ema, weight_decay,
                    kl_warmup, snapshots)
    if patience is not None and x_val is None:
        raise ValueError("patience: early stopping needs x_val (the validation data)")
    run["per_epoch"] = -(-len(x_train) // run["batch_size"])
    run["snapshots"] = _snapshot_steps(run["snapshots"], run["epochs"] * run["per_epoch"])
    with torch_threads(threads):
        return _fit(model, x_train, x_val, run, progress)


def _settings(epochs, batch_size, lr, optimizer, seed, patience, lr_decay, ema, weight_decay,
              kl_warmup, snapshots) -> dict:
    """train()'s options, each checked."""
    run = dict(epochs=validate.positive_int("epochs", epochs), lr=validate.positive("lr", lr),
               batch_size=validate.positive_int("batch_size", batch_size),
               optimizer=validate.one_of("optimizer", optimizer, OPTIMIZERS),
               seed=validate.positive_int("seed", seed, minimum=0), lr_decay=bool(lr_decay),
               ema=None if ema is None else validate.fraction("ema", ema, closed=True),
               weight_decay=validate.positive("weight_decay", weight_decay, allow_zero=True),
               kl_warmup=validate.positive_int("kl_warmup", kl_warmup, minimum=0),
               patience=None if patience is None else validate.positive_int("patience", patience))
    run["snapshots"] = validate.positive_int("snapshots", snapshots, minimum=0)
    if run["snapshots"] == 1:
        raise ValueError("snapshots: expected 0 (none) or a whole number >= 2, got 1")
    return run


def _snapshot_steps(count: int, total: int) -> set:
    """Step 0, then count - 1 distinct steps from 1 to `total` spaced geometrically (epoch 1 learns most)."""
    if count > total + 1:
        raise ValueError(f"snapshots: expected at most {total + 1} (one per step and the start), got {count}")
    steps = [0]
    for i in range(1, count - 1):  # at least one above the one before
        steps.append(max(steps[-1] + 1, round(total ** ((i - 1) / (count - 2)))))
    return {*steps, total} if count else set()


def _fit(model, x, x_val, run, progress) -> dict:
    from tqdm.auto import tqdm

    torch.manual_seed(run["seed"])
    g = torch.Generator(device=x.device).manual_seed(run["seed"])
    opt, sched = _optimizer(model, run)
    shadow = copy.deepcopy(model) if run["ema"] is not None else model  # the weights we validate
    hist = {"train": [], "val": [], "seconds": [], "best_epoch": None, "snapshots": [],
            "steps_per_epoch": run["per_epoch"]}
    best, start = None, time.perf_counter()
    _snapshot(shadow, 0, run, hist)
    bar = tqdm(range(run["epochs"]), desc="training", disable=not progress, mininterval=0.5)
    for epoch in bar:
        beta = min(1.0, (epoch + 1) / run["kl_warmup"]) if run["kl_warmup"] else 1.0
        hist["train"].append(_epoch(model, shadow, x, opt, g, run, beta, (epoch, hist)))
        hist["seconds"].append(time.perf_counter() - start)
        if sched is not None:
            sched.step()
        if x_val is not None and _validate(shadow, x_val, run["seed"], hist, epoch):
            best = {k: v.detach().clone() for k, v in shadow.state_dict().items()}
        bar.set_postfix({k: f"{hist[k][-1]:.2f}" for k in ("train", "val") if hist[k]}, refresh=False)
        if run["patience"] is not None and _patience_spent(hist["best_epoch"], epoch, run):
            break
    bar.close()
    if run["patience"] is not None or shadow is not model:
        model.load_state_dict(best if run["patience"] is not None else shadow.state_dict())
    model.eval()
    return hist


def _optimizer(model, run):
    """One optimiser over θ and φ, weight decay on θ alone, and the cosine schedule if asked."""
    fast = {"foreach": True} if run["optimizer"] in ("adamax", "sgd") else {"fused": True}
    theta = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    groups = [{"params": theta, "weight_decay": run["weight_decay"]},
              {"params": list(model.encoder.parameters()), "weight_decay": 0.0}]
    opt = OPTIMIZERS[run["optimizer"]](groups, lr=run["lr"], **fast)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, run["epochs"]) if run["lr_decay"] else None


def _snapshot(shadow, step: int, run, hist) -> None:  # θ_k, φ_k for the training explorer
    if step in run["snapshots"]:
        hist["snapshots"].append((step, {k: v.detach().clone() for k, v in shadow.state_dict().items()}))


def _patience_spent(best_epoch, epoch, run) -> bool:
    """`patience` epochs without a better validation ELBO, counted from the end of the warm-up."""
    return epoch - max(best_epoch, run["kl_warmup"] - 1) >= run["patience"]


def _epoch(model, shadow, x, opt, g, run, beta, at) -> float:
    """One pass over x in minibatches: a step on -(E_q log p_θ(x|z) - β KL) each; the mean ELBO.
    at = (epoch, history): the snapshots due after a step are kept there."""
    model.train()
    total, (epoch, hist) = 0.0, at
    for b, idx in enumerate(torch.randperm(len(x), generator=g, device=x.device).split(run["batch_size"])):
        q = model.encoder(x[idx])
        expected, kl = model.elbo_terms(x[idx], q, elbo.reparameterised_sample(q, 1, g))
        loss = -(expected - beta * kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if shadow is not model:
            with torch.no_grad():
                torch._foreach_lerp_(list(shadow.parameters()), list(model.parameters()), 1 - run["ema"])
        _snapshot(shadow, epoch * run["per_epoch"] + b + 1, run, hist)
        total += (expected - kl).sum().item()
    return total / len(x)


def _validate(shadow, x_val, seed, hist, epoch) -> bool:
    """Record the validation ELBO (the same ε every epoch); True when it is the best so far."""
    shadow.eval()
    with torch.no_grad():
        g = torch.Generator(device=x_val.device).manual_seed(seed + 1)
        val = shadow.elbo(x_val, generator=g).mean().item()
    hist["val"].append(val)
    if hist["best_epoch"] is None or val > hist["val"][hist["best_epoch"]]:
        hist["best_epoch"] = epoch
        return True
    return False


def save_weights(model: torch.nn.Module, path) -> Path:
    """Write model.state_dict() to `path` atomically: a temporary file in the same folder, then
    os.replace, so a reader never sees half a file."""
    validate.instance("model", model, torch.nn.Module, "a torch.nn.Module")
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


def load_weights(model: torch.nn.Module, path) -> bool:
    """Load a state_dict written by save_weights (torch.load, weights_only=True). True if it
    loaded; False, with the reason printed, for a missing, corrupt or mismatched file: train again."""
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
        detail = str(e).splitlines()[0][:120] if str(e) else "no detail"
        print(f"The cached weights at {path} could not be read ({type(e).__name__}: {detail}): "
              "training again.")
        return False
    return True


def course_model(z_dim: int = 2, seed: int = 0, cache: bool = True, progress: bool = False):
    """Lesson 05's binarised-digits VAE (COURSE_SETTING, trained with COURSE_TRAINING on the train
    split), read from the cache when a valid file is there, else trained and written.
    Returns (model, history); history is None when the weights were loaded."""
    z_dim = validate.positive_int("z_dim", z_dim)
    model = make_vae(z_dim=z_dim, seed=seed, **COURSE_SETTING)
    tag = f"{zlib.crc32(repr((COURSE_SETTING, COURSE_TRAINING)).encode()):08x}"  # settings' fingerprint
    path = CACHE_DIR / f"vae_digits_binary_z{z_dim}_seed{seed}_{tag}.pt"
    if cache and load_weights(model, path):
        return model.eval(), None
    hist = train(model, digits("train", "binary"), x_val=digits("val", "binary"), seed=seed,
                 progress=progress, **COURSE_TRAINING)
    if cache:
        save_weights(model, path)
    return model, hist
