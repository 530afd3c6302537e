"""Lesson 00: one slider, one curve: proof that widgets work in this browser."""

import torch
from torch.distributions import Normal

from vaelib.dashboards import register
from vaelib.widgets import Dashboard, slider

_Z = torch.linspace(-5, 5, 401)


@register("00 widgets work")
def dashboard() -> Dashboard:
    """Move μ: the bell curve N(z; μ, 1) follows. If it does, widgets work here."""

    def build(fig, mu):
        ax = fig.add_subplot()
        ax.set(xlim=(-5, 5), ylim=(0, 0.45), xlabel="$z$", ylabel="density",
               title=r"$\mathcal{N}(z;\, \mu, 1)$: move the slider")
        (curve,) = ax.plot([], [], lw=2)
        (at_zero,) = ax.plot([], [], "o", color="k", ms=5)

        def draw(mu):
            density = Normal(mu, 1.0)
            height = density.log_prob(torch.tensor(0.0)).exp().item()
            curve.set_data(_Z.numpy(), density.log_prob(_Z).exp().numpy())
            at_zero.set_data([0.0], [height])
            return [curve, at_zero, f"μ = {mu:.1f}; the curve's height above z = 0 (the dot): {height:.3f}"]

        return draw

    return Dashboard(build, {"mu": slider(0.0, -3.0, 3.0, 0.1, "μ")}, figsize=(6, 2.6))
