"""Lesson 01: θ = (μ, σ) of one Gaussian: the density over the data and θ on the log-likelihood map."""

import torch
from torch.distributions import Normal

from vaelib import validate
from vaelib.dashboards import register
from vaelib.dashboards.common import depth_levels
from vaelib.gaussian import sample_data
from vaelib.widgets import Dashboard, slider

MU_RANGE, SIGMA_RANGE = (-1.0, 4.0), (0.2, 3.0)
_XS = torch.linspace(-3, 6, 400)
_DEPTHS = (400, 200, 100, 50, 20, 10, 5, 2, 0.5)  # contours, nats below the maximum


class _LikelihoodView:
    """Left: N(x; μ, σ²) over the histogram of x. Right: log p_θ(x) over the (μ, σ) plane, the
    current θ as a dot and the maximum-likelihood θ̂ as a star."""

    def __init__(self, x):
        self.x = x
        self.M, self.S = torch.meshgrid(torch.linspace(*MU_RANGE, 121),
                                        torch.linspace(*SIGMA_RANGE, 113), indexing="xy")
        self.surface = _log_likelihood(x, self.M, self.S)

    def build(self, fig, mu, sigma):
        left, right = fig.subplots(1, 2)
        left.hist(self.x.numpy(), bins=30, density=True, color="0.8", label="data $x_1, \\dots, x_N$")
        left.set(xlim=(-3, 6), ylim=(0, 1.0), xlabel="$x$", ylabel="density",
                 title=r"$p_\theta(x)$ over the data")
        (self.density,) = left.plot([], [], lw=2, color="C0", label=r"$\mathcal{N}(x;\, \mu, \sigma^2)$")
        levels = depth_levels(self.surface.max().item(), _DEPTHS)
        filled = right.contourf(self.M.numpy(), self.S.numpy(), self.surface.clamp(min=levels[0]).numpy(),
                                levels=levels, cmap="Blues")
        bar = fig.colorbar(filled, ax=right, ticks=levels[:-1], label=r"$\log p_\theta$ − its maximum (nats)")
        bar.ax.set_yticklabels([f"{lv - levels[-1] + 1:g}" for lv in levels[:-1]], fontsize=10)
        right.plot(*[[v.item()] for v in _mle(self.x)], "*", ms=13, color="C2", mec="w",
                   label="maximum likelihood")
        right.set(xlim=MU_RANGE, ylim=SIGMA_RANGE, xlabel=r"$\mu$", ylabel=r"$\sigma$",
                  title=r"$\log p_\theta(x_1, \dots, x_N)$")
        (self.marker,) = right.plot([], [], "o", ms=8, color="C1", label=r"$\theta = (\mu, \sigma)$")
        left.legend(loc="upper left", fontsize=10)
        right.legend(loc="upper right", fontsize=10)
        return self.draw

    def draw(self, mu, sigma):
        self.density.set_data(_XS.numpy(), Normal(mu, sigma).log_prob(_XS).exp().numpy())
        self.marker.set_data([mu], [sigma])
        return [self.density, self.marker,
                f"log p_θ(x₁..x_N) = {_log_likelihood(self.x, mu, sigma).item():.2f}"]


@register("01 gaussian likelihood")
def dashboard(x=None) -> Dashboard:
    """Sliders μ, σ over a _LikelihoodView of x (default: lesson 01's data)."""
    x = sample_data() if x is None else validate.tensor("x", x, ndim=1, min_len=2)
    controls = {"mu": slider(0.0, *MU_RANGE, 0.05, "μ"), "sigma": slider(1.5, *SIGMA_RANGE, 0.05, "σ")}
    return Dashboard(_LikelihoodView(x).build, controls, figsize=(10, 3.2))


def _log_likelihood(x, mu, sigma) -> torch.Tensor:
    """log p_θ(x_1..x_N) = Σ_i log N(x_i; μ, σ²), one value per θ (μ, σ may be grids of one shape)."""
    mu, sigma = torch.as_tensor(mu), torch.as_tensor(sigma)
    return Normal(mu.unsqueeze(-1), sigma.unsqueeze(-1)).log_prob(x).sum(-1)


def _mle(x) -> tuple[torch.Tensor, torch.Tensor]:
    """The star: μ̂ = mean(x), σ̂ = the root of the 1/N variance (lesson 01 derives both)."""
    return x.mean(), x.std(correction=0)
