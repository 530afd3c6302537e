"""Lesson 01: θ = (μ, σ) of one Gaussian: the density over the data and θ on the log-likelihood map."""

import torch

from vaelib.gaussian import gaussian, log_likelihood, mle, sample_data
from vaelib.widgets import Dashboard, slider

MU_RANGE, SIGMA_RANGE = (-1.0, 4.0), (0.2, 3.0)


def dashboard(x=None) -> Dashboard:
    """Sliders μ, σ. Left: N(x; μ, σ²) over the histogram of x. Right: log p_θ(x) over the
    (μ, σ) plane, the current θ as a dot and the maximum-likelihood θ̂ as a star."""
    x = sample_data() if x is None else torch.as_tensor(x, dtype=torch.float32)
    xs = torch.linspace(-3, 6, 400)
    mus = torch.linspace(*MU_RANGE, 121)
    sigmas = torch.linspace(*SIGMA_RANGE, 113)
    M, S = torch.meshgrid(mus, sigmas, indexing="xy")
    surface = log_likelihood(x, M, S)
    mu_hat, sigma_hat = mle(x)

    def build(fig, mu, sigma):
        left, right = fig.subplots(1, 2)
        left.hist(x.numpy(), bins=30, density=True, color="0.8", label="data x₁..x_N")
        left.set(xlim=(-3, 6), ylim=(0, 1.0), xlabel="x", ylabel="density", title="p_θ(x) over the data")
        (density,) = left.plot([], [], lw=2, color="C0", label="N(x; μ, σ²)")
        left.legend(loc="upper left", fontsize=8)
        # Filled contours at fixed depths below the maximum show the shape near the MLE.
        top = surface.max().item()
        levels = [top - d for d in (400, 200, 100, 50, 20, 10, 5, 2, 0.5)] + [top + 1]
        right.contourf(M.numpy(), S.numpy(), surface.clamp(min=levels[0]).numpy(), levels=levels,
                       cmap="Blues")
        right.plot([mu_hat], [sigma_hat], "*", ms=12, color="C3", label="maximum likelihood")
        right.set(xlim=MU_RANGE, ylim=SIGMA_RANGE, xlabel="μ", ylabel="σ", title="log p_θ(x₁..x_N)")
        (marker,) = right.plot([], [], "o", ms=8, color="C1", label="θ = (μ, σ)")
        right.legend(loc="upper right", fontsize=8)

        def draw(mu, sigma):
            density.set_data(xs.numpy(), gaussian(mu, sigma).log_prob(xs).exp().numpy())
            marker.set_data([mu], [sigma])
            readout = f"log p_θ(x₁..x_N) = {log_likelihood(x, mu, sigma).item():.2f}"
            return [density, marker, readout]

        return draw

    controls = {"mu": slider(0.0, *MU_RANGE, 0.05, "μ"), "sigma": slider(1.5, *SIGMA_RANGE, 0.05, "σ")}
    return Dashboard(build, controls, figsize=(9, 3.2))


DASHBOARDS = {"01 gaussian likelihood": dashboard}
