"""Lesson 05's dashboards. The latent explorer: move z, the decoder p_θ(x|z) draws its Bernoulli
means live. The training explorer: one slider over the snapshots θ_k, φ_k kept while training, the
decoder's map of a z grid (θ_k), the encoder's map of the test digits (φ_k) and the ELBO split into
reconstruction and KL at k, all computed once when the dashboard is built."""

import copy

import ipywidgets as W
import numpy as np
import torch
from torch import nn

from vaelib import elbo
from vaelib.dashboards import register
from vaelib.dashboards.common import position_index, positions
from vaelib.widgets import Dashboard, slider

Z_RANGE, Z_STEP = (-3.0, 3.0), 0.05


class _LatentView:
    """Left: the encoder means E_q[z|x] of the test digits, by digit, and the current z. Right: the 64
    Bernoulli means y = sigmoid(MLP_θ(z)) of p_θ(x|z) as a framed 8x8 image."""

    def __init__(self, model):
        from vaelib.data import digits, labels

        device = next(model.parameters()).device
        with torch.no_grad():
            self.means = model.encoder(digits("test", "binary").to(device)).mean.cpu().numpy()
            # every slider position decoded once, in one batch: a move is a lookup, no torch call
            grid = torch.as_tensor(positions(*Z_RANGE, Z_STEP), dtype=torch.float32)
            zz = torch.cartesian_prod(grid, grid).to(device)  # (z1, z2), z1 the slow index
            self.table = model.decoder(zz).mean.view(len(grid), len(grid), 8, 8).cpu().numpy()
        self.colours = labels("test").numpy()

    def build(self, fig, z1, z2):
        left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
        left.scatter(self.means[:, 0], self.means[:, 1], c=[f"C{d}" for d in self.colours], s=7)
        _label_digits(left, _label_places(self.means, self.colours))  # each digit named where its means are
        left.set(xlim=Z_RANGE, ylim=Z_RANGE, xlabel=r"$z_1$", ylabel=r"$z_2$", aspect="equal",
                 title=r"means of $q_\phi(z \mid x)$, test digits")
        (self.marker,) = left.plot([], [], "X", ms=13, color="black", mec="white", mew=1.5)
        self.image = right.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        right.set(xticks=[], yticks=[], title=r"$p_\theta(x \mid z)$: Bernoulli means")  # framed square
        fig.colorbar(self.image, ax=right, label=r"$P(x_d = 1 \mid z)$")
        return self.draw

    def draw(self, z1, z2):
        y = self.table[tuple(position_index(v, Z_RANGE[0], Z_STEP, len(self.table)) for v in (z1, z2))]
        self.image.set_data(y)
        self.marker.set_data([z1], [z2])
        readout = (f"z = ({z1:.2f}, {z2:.2f}) &nbsp; pixels likely on (y > 0.5): "
                   f"{int((y > 0.5).sum())} of 64 &nbsp; θ unchanged")
        return [self.image, self.marker, readout]


@register("05 latent explorer")
def dashboard(model=None) -> Dashboard:
    """Sliders z₁, z₂ of a trained 2-D-latent VAE (default: the course's, trained now) over a
    _LatentView. θ stays fixed while z moves; only the decoder's outputs change."""
    from vaelib import vae

    model = _course_model()[0] if model is None else model
    if not isinstance(model, vae.VAE) or model.z_dim != 2 or model.x_dim != 64:
        raise ValueError("model: expected a vaelib VAE with z_dim=2 and x_dim=64")
    controls = {"z1": slider(0.0, *Z_RANGE, Z_STEP, "z₁"), "z2": slider(0.0, *Z_RANGE, Z_STEP, "z₂")}
    return Dashboard(_LatentView(model.eval()).build, controls, figsize=(8.0, 3.6),
                     note="The decoder's weights θ are fixed; only its input z moves.")


# --- the training explorer ----------------------------------------------------------------------

GRID, Z_LIM, SNAPSHOTS = 10, 3.0, 20


class _TrainingView:
    """Left: p_θk(x|z)'s Bernoulli means on a GRID x GRID grid of z, 8x8 tiles in white frames. Middle:
    q_φk(z|x)'s means for the test digits, by digit. Right: E_q log p_θ(x|z), -KL and the ELBO on the
    test digits against the training step (log scale, as the snapshots are spaced), a marker at k."""

    def __init__(self, model, snapshots):
        from vaelib.data import digits, labels

        x = digits("test", "binary").to(next(model.parameters()).device)
        axis = torch.linspace(-Z_LIM * (1 - 1 / GRID), Z_LIM * (1 - 1 / GRID), GRID)
        zz = torch.cartesian_prod(axis.flip(0), axis)[:, [1, 0]].to(x.device)  # rows: z₂ from the top
        self.steps = [s for s, _ in snapshots]
        self.tiles, self.means, terms = [], [], []
        g = torch.Generator(device=x.device).manual_seed(0)
        for _, state in snapshots:
            m = copy.deepcopy(model)
            m.load_state_dict(state)
            m.eval()
            with torch.no_grad():
                tiles = nn.functional.pad(m.decoder(zz).mean.view(GRID, GRID, 8, 8), (1, 1, 1, 1))
                self.tiles.append(tiles.permute(0, 2, 1, 3).reshape(10 * GRID, 10 * GRID).cpu().numpy())
                q = m.encoder(x)
                self.means.append(q.mean.cpu().numpy())
                expected, kl = m.elbo_terms(x, q, elbo.reparameterised_sample(q, 10, g))
                terms.append((expected.mean().item(), kl.mean().item()))
        self.expected, self.kl = (np.array(t) for t in zip(*terms, strict=True))
        self.colours = labels("test").numpy()
        self.places = [_label_places(m, self.colours) for m in self.means]  # the digits' names, per k

    def build(self, fig, k):
        k = int(k)  # an IntSlider's value; timing helpers may pass it as a float
        left, mid, right = fig.subplots(1, 3, width_ratios=[1, 1, 1.25])
        self.image = left.imshow(self.tiles[k], cmap="gray_r", vmin=0, vmax=1, extent=(-Z_LIM, Z_LIM) * 2,
                                 interpolation="nearest")
        left.set(xlabel=r"$z_1$", ylabel=r"$z_2$", title=r"$\theta_k$: $p_\theta(x \mid z)$ on a grid")
        # one marker line per digit (Agg stamps a Line2D's markers ~20x faster than a scatter's)
        self.dots = [mid.plot([], [], "o", ms=2.2, color=f"C{d}")[0] for d in range(10)]
        self.boxes, self.names = _label_digits(mid, self.places[k])  # moved by draw
        mid.set(xlim=(-Z_LIM, Z_LIM), ylim=(-Z_LIM, Z_LIM), xlabel=r"$z_1$", ylabel=r"$z_2$", aspect="equal",
                title=r"$\phi_k$: means of $q_\phi(z \mid x)$")
        right.plot(self.steps, self.expected, "--", color="C0",
                   label=r"$\mathbb{E}_q \log p_\theta(x \mid z)$")
        right.plot(self.steps, -self.kl, ":", label=r"$-\mathrm{KL}(q \,\|\, p_\theta(z))$", color="C1", lw=2)
        right.plot(self.steps, self.expected - self.kl, "-", label="ELBO", color="k")
        (self.marker,) = right.plot([], [], "o", color="k", ms=7)
        right.set_xscale("symlog", linthresh=1)  # step 0 (the start) and then a log scale
        right.set(xlabel="training step", ylabel="nats per test image", title="ELBO = reconstruction - KL")
        right.legend(fontsize=9, loc="lower right")
        return self.draw

    def draw(self, k):
        k = int(k)
        self.image.set_data(self.tiles[k])
        for d, (line, name, at) in enumerate(zip(self.dots, self.names, self.places[k], strict=True)):
            line.set_data(*self.means[k][self.colours == d].T)
            name.set_position(at)
        self.boxes.set_data(*self.places[k].T)
        self.marker.set_data([self.steps[k]], [self.expected[k] - self.kl[k]])
        readout = (f"k = {k}: after step {self.steps[k]} of {self.steps[-1]} &nbsp; reconstruction "
                   f"{self.expected[k]:.2f} - KL {self.kl[k]:.2f} = ELBO {self.expected[k] - self.kl[k]:.2f}")
        return [self.image, *self.dots, self.marker, self.boxes, *self.names, readout]  # drawn in this order


def _label_places(means, labels, apart=0.6) -> np.ndarray:
    """Where each digit's name goes: the median of its encoder means, names closer than `apart` (in z) pushed
    apart along the line between them, so that names of overlapping digits stay readable."""
    at = np.array([np.median(means[labels == d], axis=0) for d in range(10)], dtype=float)
    for _ in range(50):
        moved = False
        for i in range(10):
            for j in range(i + 1, 10):
                gap = at[j] - at[i]
                dist = float(np.hypot(*gap))
                if dist < apart:
                    way = gap / dist if dist > 1e-9 else np.array([np.cos(i + j), np.sin(i + j)])
                    at[i] -= way * (apart - dist) / 2
                    at[j] += way * (apart - dist) / 2
                    moved = True
        if not moved:
            break
    return at


def _label_digits(ax, places) -> tuple:
    """Each digit's name at its place (_label_places), on a white square: a direct label, not only a colour.
    The ten squares are one line of markers, which Agg stamps faster than ten text boxes."""
    boxes = ax.plot(*places.T, "s", ms=12, color="white", mec="none", zorder=2.9)[0]  # over the dots
    names = [ax.text(*at, str(d), ha="center", va="center", fontsize=11, fontweight="bold", color=f"C{d}")
             for d, at in enumerate(places)]
    return boxes, names


@register("05 training explorer")
def training_dashboard(model=None, snapshots=None) -> Dashboard:
    """A slider k over `snapshots` (train.train(..., snapshots=K)["snapshots"]: (step, state_dict)
    pairs) of a 2-D-latent Bernoulli VAE like `model`; default: the course's model and snapshots,
    trained now."""
    from vaelib import vae

    if (model is None) != (snapshots is None):
        raise ValueError("snapshots: give both model and snapshots, or neither (the course's)")
    if model is None:
        model, snapshots = _course_model(SNAPSHOTS)
    if not isinstance(model, vae.VAE) or model.z_dim != 2 or model.x_dim != 64:
        raise ValueError("model: expected a vaelib VAE with z_dim=2 and x_dim=64")
    if not isinstance(snapshots, list | tuple) or len(snapshots) < 2:
        raise ValueError("snapshots: expected the (step, state_dict) pairs train.train kept (2 or more)")
    view = _TrainingView(model, snapshots)
    k = W.IntSlider(value=len(snapshots) - 1, min=0, max=len(snapshots) - 1, description="snapshot k",
                    continuous_update=True)
    return Dashboard(view.build, {"k": k}, figsize=(10.5, 3.3),
                     note="Each k is a different (θ_k, φ_k): θ_k draws the left panel, φ_k the middle one.")


def _course_model(snapshots: int = 0):
    """The course's 2-D model (train.COURSE_SETTING, COURSE_TRAINING, seed 0), trained now on one CPU
    thread (about two seconds; the same numbers on every machine), and its `snapshots`."""
    from vaelib import threads, train, vae
    from vaelib.data import digits

    model = vae.make_vae(z_dim=2, seed=0, **train.COURSE_SETTING)
    with threads(1):
        history = train.train(model, digits("train", "binary"), seed=0, snapshots=snapshots, progress=False,
                              **train.COURSE_TRAINING)
    return model, history["snapshots"]
