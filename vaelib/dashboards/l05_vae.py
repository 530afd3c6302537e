"""Lesson 05: the latent explorer. Move z; the decoder p_θ(x|z) draws its Bernoulli means live."""

import numpy as np
import torch

from vaelib.dashboards.common import position_index, positions
from vaelib.widgets import Dashboard, slider

Z_RANGE, Z_STEP = (-3.0, 3.0), 0.05


class _LatentView:
    """Left: the encoder means E_q[z|x] of the test digits, coloured by label, and the current z.
    Right: the 64 Bernoulli means y = sigmoid(MLP_θ(z)) of p_θ(x|z) as an 8x8 image."""

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

    def decode(self, z1, z2) -> np.ndarray:
        n = len(self.table)
        i, j = (position_index(v, Z_RANGE[0], Z_STEP, n) for v in (z1, z2))
        return self.table[i, j]

    def build(self, fig, z1, z2):
        left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
        sc = left.scatter(self.means[:, 0], self.means[:, 1], c=self.colours, cmap="tab10", s=7,
                          vmin=-0.5, vmax=9.5)
        fig.colorbar(sc, ax=left, ticks=range(10), label="digit (never seen in training)")
        left.set(xlim=Z_RANGE, ylim=Z_RANGE, xlabel="z₁", ylabel="z₂", aspect="equal",
                 title="encoder means of the test digits")
        (self.marker,) = left.plot([], [], "X", ms=13, color="black", mec="white", mew=1.5)
        self.image = right.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        right.set_axis_off()
        right.set_title("p_θ(x|z): Bernoulli means")
        fig.colorbar(self.image, ax=right, label="P(pixel = 1 | z)")
        return self.draw

    def draw(self, z1, z2):
        y = self.decode(z1, z2)
        self.image.set_data(y)
        self.marker.set_data([z1], [z2])
        readout = (f"z = ({z1:.2f}, {z2:.2f}) &nbsp; pixels likely on (y > 0.5): "
                   f"{int((y > 0.5).sum())} of 64 &nbsp; θ unchanged")
        return [self.image, self.marker, readout]


def dashboard(model=None) -> Dashboard:
    """Sliders z₁, z₂ of a trained 2-D-latent VAE (default: the course's, cached or trained) over a
    _LatentView. θ stays fixed while z moves; only the decoder's outputs change."""
    from vaelib import train, vae

    model = train.course_model(z_dim=2)[0] if model is None else model
    if not isinstance(model, vae.VAE) or model.z_dim != 2 or model.x_dim != 64:
        raise ValueError("model: expected a vaelib VAE with z_dim=2 and x_dim=64")
    controls = {"z1": slider(0.0, *Z_RANGE, Z_STEP, "z₁"), "z2": slider(0.0, *Z_RANGE, Z_STEP, "z₂")}
    return Dashboard(_LatentView(model.eval()).build, controls, figsize=(8.0, 3.6),
                     note="The decoder's weights θ are fixed; only its input z moves.")


DASHBOARDS = {"05 latent explorer": dashboard}
