"""Lesson 04: move x and compare three answers to "which z made this x?": the true posterior
p_θ(z|x), the best Gaussian q* for that x alone (λ*), and the encoder's guess q_φ(z|x)."""

import torch

from vaelib import encoder as enc
from vaelib import validate
from vaelib.dashboards import register
from vaelib.dashboards.common import position_index, positions
from vaelib.joint import NonlinearLVM
from vaelib.widgets import Dashboard, slider

X_RANGE, X_STEP = (-1.0, 3.2), 0.02
_X_START = 1.5  # lesson 03's x (three bumps); away from x = 1.2, where q* jumps
_Z_VIEW = (-4.0, 4.0)
_TOP = 1.5  # density axis: the sharpest posteriors at the range's ends go off the top


def _default_encoder(model):
    """An encoder trained on 200 draws from the model (θ fixed), as in the lesson."""
    _, x = model.sample(200, generator=torch.Generator().manual_seed(0))
    return enc.train_encoder(model, x, steps=400, lr=0.02, seed=0)["encoder"]


class _GapsView:
    """Left: p_θ(z|x) (grey), q*(z) = N(m*, s*²) (dashed), q_φ(z|x) (orange). Right: the
    approximation gap log p_θ(x) - ELBO(q*) and the amortization gap ELBO(q*) - ELBO(q_φ) over x,
    the current x marked. Everything is computed once, at every position of the x slider."""

    def __init__(self, model, encoder):
        self.xs = torch.as_tensor(positions(*X_RANGE, X_STEP), dtype=torch.float64)
        zs = torch.linspace(*_Z_VIEW, 321, dtype=torch.float64)
        self.gaps = enc.gaps(model, self.xs, encoder)
        with torch.no_grad():
            q_enc = encoder(self.xs)
            best = torch.distributions.Normal(self.gaps["m"][:, None], self.gaps["s"][:, None])
            self.curves = {"posterior": model.posterior(self.xs).log_prob(zs[:, None]).exp().T,
                           "best": best.log_prob(zs).exp(),
                           "encoder": torch.distributions.Normal(q_enc.loc[:, None], q_enc.scale[:, None])
                           .log_prob(zs).exp()}
        self.encoder_mean, self.encoder_std = q_enc.loc.numpy(), q_enc.scale.numpy()
        self.zs = zs.numpy()

    def build(self, fig, x):
        left, right = fig.subplots(1, 2, width_ratios=[1.3, 1])
        left.set(xlim=_Z_VIEW, ylim=(0, _TOP), xlabel="$z$", ylabel="density",
                 title="which $z$ made this $x$?")
        styles = {"posterior": dict(color="0.5", lw=3, label=r"posterior $p_\theta(z \mid x)$"),
                  "best": dict(color="C0", lw=2, ls="--", label=r"best Gaussian $q^*$"),
                  "encoder": dict(color="C1", lw=2, ls="-.", label=r"encoder $q_\phi(z \mid x)$")}
        self.lines = {k: left.plot([], [], **style)[0] for k, style in styles.items()}
        left.legend(loc="upper left", fontsize=10)
        for gap, colour, style in (("approximation", "C0", "-"), ("amortization", "C1", "--")):
            right.plot(self.xs.numpy(), self.gaps[gap].numpy(), color=colour, ls=style, label=f"{gap} gap")
        top = max(self.gaps["approximation"].max(), self.gaps["amortization"].max()).item() * 1.1
        right.set(xlim=X_RANGE, ylim=(0, top), xlabel="$x$", ylabel="nats", title="gaps at every $x$")
        right.legend(loc="upper left", fontsize=10)
        self.marker = right.axvline(X_RANGE[0], color="k", lw=1)
        return self.draw

    def draw(self, x):
        i = position_index(x, X_RANGE[0], X_STEP, len(self.xs))
        for k, line in self.lines.items():
            line.set_data(self.zs, self.curves[k][i].numpy())
        self.marker.set_xdata([self.xs[i].item()] * 2)
        g = {k: self.gaps[k][i].item() for k in ("m", "s", "approximation", "amortization")}
        readout = (f"x = {self.xs[i].item():.2f} &nbsp; λ* = ({g['m']:.3f}, {g['s']:.3f}) &nbsp; "
                   f"encoder (m_φ, s_φ) = ({self.encoder_mean[i]:.3f}, {self.encoder_std[i]:.3f}) "
                   f"&nbsp; approximation gap {g['approximation']:.4f} &nbsp; amortization gap "
                   f"{g['amortization']:.4f} nats")
        return [*self.lines.values(), self.marker, readout]


@register("04 posterior vs λ* vs encoder")
def dashboard(model=None, encoder=None) -> Dashboard:
    """Slider x over a _GapsView of `model` (default: lesson 02's network model) and `encoder`
    (default: trained on 200 draws from the model)."""
    model = NonlinearLVM() if model is None else model
    validate.instance("model", model, NonlinearLVM, "a vaelib.joint.NonlinearLVM")
    encoder = _default_encoder(model) if encoder is None else encoder
    return Dashboard(_GapsView(model, encoder).build, {"x": slider(_X_START, *X_RANGE, X_STEP, "x")},
                     figsize=(9.5, 3.0), note="Per-datapoint λ* needs an optimisation for every "
                     "new x; the encoder answers with one forward pass.")
