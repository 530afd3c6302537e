"""Lessons 01-04: the one optimisation loop, gradient ascent on an objective, recording its path.
(Lesson 05's minibatch training over epochs is vaelib.train.)"""

from collections.abc import Callable

import torch

from vaelib import validate


def ascend(params: list, objective: Callable[[], torch.Tensor], steps: int, lr: float, *,
           cosine: bool = False, record: Callable | None = None, record_every: int = 1) -> dict:
    """Adam steps uphill on objective() over `params`; cosine: the learning rate decays to 0 over the
    steps. Returns {"values": objective() before each step (steps,)} and, with `record`, {"path":
    [record() before every record_every-th step and once after the last]}."""
    steps, lr = validate.positive_int("steps", steps), validate.number("lr", lr, above=0)
    record_every = validate.positive_int("record_every", record_every)
    opt = torch.optim.Adam(params, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if cosine else None
    values, path = [], []
    for step in range(steps):
        if record is not None and step % record_every == 0:
            path.append(record())
        opt.zero_grad()
        value = objective()
        (-value).backward()
        opt.step()
        if schedule is not None:
            schedule.step()
        values.append(value.item())
    out = {"values": torch.tensor(values)}
    if record is not None:
        out["path"] = path + [record()]
    return out


def maximise(params: list, objective: Callable[[], torch.Tensor], max_iter: int = 100,
             **tolerances) -> None:
    """Deterministic maximisation of a smooth objective() with L-BFGS (strong Wolfe line search);
    `tolerances` go to torch.optim.LBFGS (tolerance_grad, tolerance_change, history_size)."""
    opt = torch.optim.LBFGS(params, lr=1, max_iter=validate.positive_int("max_iter", max_iter),
                            line_search_fn="strong_wolfe", **tolerances)

    def closure():
        opt.zero_grad()
        loss = -objective()
        loss.backward()
        return loss

    opt.step(closure)
