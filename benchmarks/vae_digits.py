"""Lesson 05 benchmark: the VAE on the 8x8 digits, measured against its peers (the peer's 17-level
categorical decoder lives here: no lesson uses it).

    .venv/bin/python benchmarks/vae_digits.py            a table
    .venv/bin/python benchmarks/vae_digits.py --json     one JSON object

peer_setting   Tomczak's VAE on these digits (jmtomczak/intro_dgm, vaes/vae_example.ipynb): split
               train [:1000] / val [1000:1350] / test [1350:], raw pixels 0..16, a 17-way
               categorical decoder per pixel, 16 latents, LeakyReLU MLPs 64-256-256. His published
               test figure is 96.8 nats per image. His evaluation: the negative ELBO of the best-
               validation model, one reparameterised sample z per test image, log p(x|z) summed
               over the 64 pixels, averaged over the 447 test images (nats). We report the same
               quantity (averaged over 10 draws of z per image: the same expectation, less noise),
               the single-draw version, and the importance-weighted NLL with K = 1000.
               What we change to win (allowed: schedule, architecture, analytic KL): analytic KL
               (eq. 10); Adam 2e-3 (his: Adamax 1e-3); dropout 0.3 in the hidden layers; an
               exponential moving average of the weights; the KL term warmed up over the first
               10 epochs; the 17 logits of each pixel tied through 4 grey-level profiles shared by
               all pixels (LevelBasis below: still a 17-way categorical per pixel); at most
               120 epochs, early stopping with patience 10 (his: patience 20). vaelib.train.train
               is the course's Algorithm 1 and holds none of these extras: the weight average,
               the validation of that average and early stopping wrap its optimiser here
               (PeerOptimiser); the KL warm-up is train's own (lesson 06 uses it).
ablation       (--ablation) one change at a time from his recipe to ours, over the same seeds:
               what each change is worth (its first row: his recipe as the brief gives it).
course_setting the notebook's binarised Bernoulli VAE, latent sizes 2 and 8.
side_by_side   vaelib's `train` against a plain loop of the PyTorch example (64-400-20,
               BCE summed + KL), same data, epochs, batch size, optimiser and initial weights.

Timings are wall-clock seconds on this machine (and CPU seconds of this process): on a shared
machine the wall time depends on the load, which is reported (os.getloadavg) with the results.
"""

import argparse
import copy
import json
import os
import statistics
import time

import torch
from torch import nn
from torch.distributions import Categorical, Independent

from vaelib import example_vae, train, vae
from vaelib.data import digits

LEVELS = 17  # grey levels 0..16 of the bundled digits


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a whole number >= 1, got {value!r}")
    return value


class LevelBasis(nn.Module):
    """The 17 logits of each pixel from `rank` numbers u_d (the layer before outputs them) and
    `rank` level profiles B shared by every pixel, plus the pixel's own bias c_d:
        logits[d, k] = Σ_r u_{d,r} B[r, k] + c[d, k]
    A profile learnt on one pixel ("ink is a high grey level") serves all 64. Part of θ."""

    def __init__(self, x_dim: int, rank: int):
        super().__init__()
        self.x_dim = _whole("x_dim", x_dim)
        self.rank = _whole("rank", rank)
        self.profiles = nn.Parameter(torch.randn(self.rank, LEVELS) / self.rank**0.5)  # B
        self.bias = nn.Parameter(torch.zeros(self.x_dim, LEVELS))  # c

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return (u.unflatten(-1, (self.x_dim, self.rank)) @ self.profiles + self.bias).flatten(-2)


class CategoricalDecoder(vae.Decoder):
    """p_θ(x|z) = Π_d Categorical(x_d; softmax of 17 logits of MLP_θ(z) for pixel d): one
    probability per grey level 0..16 (Tomczak's decoder on these digits). levels_rank r: the MLP
    gives r numbers per pixel and a LevelBasis turns them into the 17 logits."""

    outputs_per_pixel = LEVELS

    def __init__(self, z_dim: int = 2, x_dim: int = 64, hidden=(400,), activation="tanh",
                 dropout: float = 0.0, levels_rank: int | None = None):
        if levels_rank is not None:
            self.outputs_per_pixel = _whole("levels_rank", levels_rank)
        super().__init__(z_dim, x_dim, hidden, activation, dropout)
        if levels_rank is not None:
            self.net.append(LevelBasis(self.x_dim, levels_rank))

    def forward(self, z: torch.Tensor) -> Independent:
        logits = self.net(z).unflatten(-1, (self.x_dim, LEVELS))
        return Independent(Categorical(logits=logits, validate_args=False), 1)


PUBLISHED = 96.8  # Tomczak's test negative ELBO, nats per image
PEER_MODEL = dict(decoder=CategoricalDecoder, z_dim=16, hidden=(256, 256), activation="leaky_relu",
                  dropout=0.3, levels_rank=4)
PEER_TRAINING = dict(epochs=120, batch_size=64, lr=2e-3, optimizer="adam", ema=0.995,
                     patience=10, kl_warmup=10)
OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax}


class EarlyStop(Exception):
    """Raised by PeerOptimiser.step when `patience` epochs passed without a better validation ELBO."""


class PeerOptimiser:
    """The optimiser train() steps with, wrapped for the peer setting. After each step: the weights'
    moving average θ̄ <- ema θ̄ + (1 - ema) θ (likewise φ; ema None: the weights themselves). After
    each epoch: the validation ELBO of those weights (vaelib.train's, the same ε every epoch), the
    best kept; with `patience`, EarlyStop once that many epochs passed without a better one,
    counted from the end of the KL warm-up."""

    def __init__(self, inner, model, x_val, steps_per_epoch, *, ema=None, patience=None,
                 kl_warmup=0, seed=0):
        self.inner, self.model, self.x_val, self.steps_per_epoch = inner, model, x_val, steps_per_epoch
        self.ema, self.patience, self.kl_warmup, self.seed = ema, patience, kl_warmup, seed
        self.shadow = copy.deepcopy(model) if ema is not None else model
        self.steps, self.val, self.best_epoch, self.best = 0, [], None, None

    def zero_grad(self, set_to_none=True):
        self.inner.zero_grad(set_to_none=set_to_none)

    def step(self):
        self.inner.step()
        if self.ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(self.shadow.parameters()), list(self.model.parameters()),
                                     1 - self.ema)
        self.steps += 1
        if self.steps % self.steps_per_epoch == 0:
            self._end_of_epoch(self.steps // self.steps_per_epoch - 1)

    def _end_of_epoch(self, epoch):
        self.val.append(train._elbo(self.shadow, self.x_val, self.seed + 1))
        if self.best_epoch is None or self.val[-1] > self.val[self.best_epoch]:
            self.best_epoch = epoch
            self.best = {k: v.detach().clone() for k, v in self.shadow.state_dict().items()}
        if self.patience is not None and epoch - max(self.best_epoch, self.kl_warmup - 1) >= self.patience:
            raise EarlyStop

    def finish(self):
        """The validated weights into the model: the best epoch's, or the last average."""
        self.model.load_state_dict(self.best if self.patience is not None else self.shadow.state_dict())
        self.model.eval()


def train_peer(model, x_train, x_val, seed, *, epochs, batch_size, lr, optimizer="adam", ema=None,
               patience=None, kl_warmup=0) -> dict:
    """vaelib.train.train (Algorithm 1) with the peer setting's extras wrapped around its optimiser.
    Returns the validation ELBO per epoch, the best epoch and the epochs run."""
    steps_per_epoch = -(-len(x_train) // batch_size)
    made = []

    def make(groups, lr):
        made.append(PeerOptimiser(OPTIMIZERS[optimizer](groups, lr=lr), model, x_val, steps_per_epoch,
                                  ema=ema, patience=patience, kl_warmup=kl_warmup, seed=seed))
        return made[0]

    torch.manual_seed(seed)  # dropout draws from the global generator
    try:
        train.train(model, x_train, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=make,
                    kl_warmup=kl_warmup, seed=seed, progress=False)
    except EarlyStop:
        pass
    made[0].finish()
    return {"val": made[0].val, "best_epoch": made[0].best_epoch, "epochs": len(made[0].val)}


def _timed(f):
    t, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - t, time.process_time() - c


def _mean_sd(v):
    return {"mean": round(statistics.mean(v), 2), "sd": round(statistics.stdev(v), 2) if len(v) > 1
            else 0.0}


def single_draw_neg_elbo(model, x, seed=0) -> float:
    """Tomczak's evaluation exactly: one z per test image, -ELBO averaged over the images."""
    with torch.no_grad():
        return -model.elbo(x, generator=torch.Generator().manual_seed(seed)).mean().item()


def peer_run(seed, threads, K=1000, model_settings=PEER_MODEL, training=PEER_TRAINING) -> dict:
    """Train one model on the peer split and evaluate it on the test images."""
    x_train, x_val, x_test = (digits(s, "grey") for s in ("train", "val", "test"))
    model = vae.make_vae(seed=seed, x_dim=64, **model_settings)
    hist, wall, cpu = _timed(lambda: train_peer(model, x_train, x_val, seed, **training))
    nll = -model.log_marginal(x_test, K=K, generator=torch.Generator().manual_seed(seed),
                              threads=threads).mean().item()
    return {"seed": seed, "test_neg_elbo": -model.test_elbo(x_test, seed=seed),
            "test_neg_elbo_one_draw": single_draw_neg_elbo(model, x_test, seed),
            "test_nll_iw": nll, "train_seconds": wall, "train_cpu_seconds": cpu,
            "epochs": hist["epochs"], "best_epoch": hist["best_epoch"]}


def peer_setting(seeds, threads, K=1000) -> dict:
    runs = [peer_run(seed, threads, K) for seed in seeds]
    neg_elbo = [r["test_neg_elbo"] for r in runs]
    return {"published_neg_elbo": PUBLISHED, "goal": PUBLISHED - 1.0,
            "model": {k: list(v) if isinstance(v, tuple) else getattr(v, "__name__", v)
                      for k, v in PEER_MODEL.items()},
            "training": PEER_TRAINING, "seeds": list(seeds),
            "test_neg_elbo": _mean_sd(neg_elbo),
            "test_neg_elbo_one_draw": _mean_sd([r["test_neg_elbo_one_draw"] for r in runs]),
            f"test_nll_iw_K{K}": _mean_sd([r["test_nll_iw"] for r in runs]),
            "train_seconds": _mean_sd([r["train_seconds"] for r in runs]),
            "train_cpu_seconds": _mean_sd([r["train_cpu_seconds"] for r in runs]),
            "beats_published_by_1_nat": statistics.mean(neg_elbo) <= PUBLISHED - 1.0,
            "runs": [{k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}
                     for r in runs]}


TOMCZAK = (dict(dropout=0.0, levels_rank=None),
           dict(epochs=1000, lr=1e-3, optimizer="adamax", ema=None, patience=20, kl_warmup=0))
ABLATION = [  # (what changes, model settings, training): each row adds one change to the last
    ("his recipe: Adamax 1e-3, patience 20, free logits", *TOMCZAK),
    ("+ Adam 2e-3, dropout 0.3, weight EMA, patience 15", dict(levels_rank=None),
     dict(epochs=1000, patience=15, kl_warmup=0)),
    ("+ KL warm-up over 10 epochs", dict(levels_rank=None), dict(epochs=1000, patience=15)),
    ("+ tied grey levels (rank 4)", {}, dict(epochs=1000, patience=15)),
    ("+ at most 120 epochs, patience 10 (ours)", {}, {}),
]


def ablation(seeds, threads) -> list[dict]:
    rows = []
    for label, model_changes, training_changes in ABLATION:
        runs = [peer_run(seed, threads, model_settings={**PEER_MODEL, **model_changes},
                         training={**PEER_TRAINING, **training_changes}) for seed in seeds]
        rows.append({"change": label, "seeds": list(seeds),
                     **{k: _mean_sd([r[k] for r in runs]) for k in
                        ("test_neg_elbo", "test_nll_iw", "epochs", "train_seconds")}})
    return rows


def course_setting(threads, K=1000) -> dict:
    x_train, x_val, x_test = (digits(s, "binary") for s in ("train", "val", "test"))
    out = {"model": {k: list(v) if isinstance(v, tuple) else v for k, v in train.COURSE_SETTING.items()},
           "training": train.COURSE_TRAINING}
    for z_dim in (2, 8):
        model = vae.make_vae(z_dim=z_dim, seed=0, **train.COURSE_SETTING)
        hist, wall, _ = _timed(lambda m=model: train.train(
            m, x_train, x_val=x_val, seed=0, progress=False, **train.COURSE_TRAINING))
        log_px = model.log_marginal(x_test, K=K, generator=torch.Generator().manual_seed(0),
                                    threads=threads).mean().item()
        out[f"z{z_dim}"] = {"test_elbo": round(model.test_elbo(x_test), 2),
                            f"test_log_px_K{K}": round(log_px, 2),
                            "ms_per_epoch": round(1e3 * wall / len(hist["train"]), 1),
                            "train_seconds": round(wall, 2)}
    return out


def plain_example_loop(example, x, epochs, batch_size, lr, seed):
    """The PyTorch example's train(): shuffle, forward, loss_function, backward, step."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(example.parameters(), lr=lr)
    example.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            data = x[idx]
            opt.zero_grad()
            recon_batch, mu, logvar = example(data)
            loss = example_vae.example_loss(recon_batch, data, mu, logvar)
            loss.backward()
            opt.step()


def side_by_side(threads, epochs=30, batch_size=128, lr=1e-3) -> dict:
    x_train, x_test = digits("train", "binary"), digits("test", "binary")
    torch.manual_seed(0)
    example = example_vae.ExampleVAE(64, 400, 20)
    ours = example_vae.vae_from_example(example)  # the same initial weights
    torch.manual_seed(0)
    _, t_plain, _ = _timed(lambda: plain_example_loop(example, x_train, epochs, batch_size, lr, 0))
    # vaelib's loss is the per-image mean, the example's the batch sum: scale lr to match Adam?
    # Adam is invariant to the loss scale, so the same lr gives the same kind of steps.
    _, t_ours, _ = _timed(lambda: train.train(ours, x_train, epochs=epochs, batch_size=batch_size,
                                            lr=lr, seed=0, progress=False))
    elbo_plain = example_vae.vae_from_example(example).test_elbo(x_test)
    elbo_ours = ours.test_elbo(x_test)
    return {"epochs": epochs, "batch_size": batch_size, "lr": lr, "model": "64-400-20 ReLU",
            "plain_loop_seconds": round(t_plain, 2), "vaelib_seconds": round(t_ours, 2),
            "time_ratio_vaelib_over_plain": round(t_ours / t_plain, 2),
            "test_elbo_plain": round(elbo_plain, 2), "test_elbo_vaelib": round(elbo_ours, 2),
            "test_elbo_difference": round(elbo_ours - elbo_plain, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--skip-peer", action="store_true", help="leave out the peer setting")
    ap.add_argument("--ablation", action="store_true",
                    help="also run the peer setting one change at a time (about 2.5 min a seed)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    result = {"machine": {"cpus": os.cpu_count(), "threads": args.threads,
                          "loadavg_before": [round(v, 2) for v in load_before]}}
    result["side_by_side"] = side_by_side(args.threads)
    result["course_setting"] = course_setting(args.threads)
    if not args.skip_peer:
        result["peer_setting"] = peer_setting(range(args.seeds), args.threads)
    if args.ablation:
        result["ablation"] = ablation(range(args.seeds), args.threads)
    result["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    if args.json:
        print(json.dumps(result))
    else:
        _table(result)


def _table(r):
    m = r["machine"]
    print(f"machine: {m['cpus']} CPUs, {m['threads']} torch thread(s), load average before "
          f"{m['loadavg_before']}, after {m['loadavg_after']}")
    if "peer_setting" in r:
        p = r["peer_setting"]
        print(f"\npeer setting (Tomczak, 17-level categorical, {len(p['seeds'])} seeds)   "
              f"published test -ELBO {p['published_neg_elbo']}  goal <= {p['goal']}")
        print(f"  {'seed':>4} {'-ELBO':>8} {'-ELBO 1 draw':>12} {'NLL K=1000':>10} {'epochs':>6} "
              f"{'train s':>8} {'cpu s':>6}")
        for x in p["runs"]:
            print(f"  {x['seed']:>4} {x['test_neg_elbo']:>8.2f} {x['test_neg_elbo_one_draw']:>12.2f} "
                  f"{x['test_nll_iw']:>10.2f} {x['epochs']:>6} {x['train_seconds']:>8.1f} "
                  f"{x['train_cpu_seconds']:>6.1f}")
        e, n = p["test_neg_elbo"], p["test_nll_iw_K1000"]
        print(f"  mean -ELBO {e['mean']} ± {e['sd']}, NLL {n['mean']} ± {n['sd']}; "
              f"beats {p['published_neg_elbo']} by >= 1 nat: {p['beats_published_by_1_nat']}")
    if "ablation" in r:
        print(f"\nablation ({len(r['ablation'][0]['seeds'])} seeds, mean ± sd): from the peer's "
              "recipe to ours, one change at a time")
        print(f"  {'change':<52} {'-ELBO':>13} {'NLL K=1000':>13} {'epochs':>6} {'train s':>8}")

        def pm(d, width):
            return f"{d['mean']:.2f} ± {d['sd']:.2f}".rjust(width)

        for x in r["ablation"]:
            print(f"  {x['change']:<52} {pm(x['test_neg_elbo'], 13)} {pm(x['test_nll_iw'], 13)} "
                  f"{x['epochs']['mean']:>6.0f} {x['train_seconds']['mean']:>8.1f}")
    c = r["course_setting"]
    print("\ncourse setting (binarised digits, Bernoulli decoder)")
    print(f"  {'z':>3} {'test ELBO':>10} {'log p(x) K=1000':>16} {'ms/epoch':>9}")
    for z in (2, 8):
        d = c[f"z{z}"]
        print(f"  {z:>3} {d['test_elbo']:>10.2f} {d['test_log_px_K1000']:>16.2f} {d['ms_per_epoch']:>9.1f}")
    s = r["side_by_side"]
    print(f"\nside by side ({s['model']}, {s['epochs']} epochs, batch {s['batch_size']})")
    print(f"  plain PyTorch loop {s['plain_loop_seconds']} s, test ELBO {s['test_elbo_plain']}")
    print(f"  vaelib.train.train {s['vaelib_seconds']} s, test ELBO {s['test_elbo_vaelib']}")
    print(f"  time ratio {s['time_ratio_vaelib_over_plain']}, ELBO difference "
          f"{s['test_elbo_difference']}")


if __name__ == "__main__":
    main()
