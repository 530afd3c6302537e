"""Lesson 05: the latent explorer. Move z; the decoder p_θ(x|z) draws its Bernoulli means live."""

import numpy as np
import torch

from vaelib.widgets import Dashboard, slider

Z_RANGE, Z_STEP = (-3.0, 3.0), 0.05


def dashboard(model=None) -> Dashboard:
    """Sliders z₁, z₂ of a 2-D-latent VAE. Left: the encoder means E_q[z|x] of the test digits,
    coloured by label, and the current z. Right: the 64 Bernoulli means y = sigmoid(MLP_θ(z)) of
    p_θ(x|z) as an 8x8 image. θ stays fixed while z moves; only the decoder's outputs change.

    model: a trained vaelib VAE with z_dim = 2 (default: the course's, cached or trained)."""
    from vaelib import vae
    from vaelib.data import digits, labels

    if model is None:
        model, _ = vae.course_model(z_dim=2)
    if not isinstance(model, vae.VAE) or model.z_dim != 2 or model.x_dim != 64:
        raise ValueError("model: expected a vaelib VAE with z_dim=2 and x_dim=64")
    model = model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        means = model.encoder(digits("test", "binary").to(device)).base_dist.loc.cpu().numpy()
    colours = labels("test").numpy()

    # Every slider position decoded once, in one batch: a move is then a lookup, no torch call.
    n = int(round((Z_RANGE[1] - Z_RANGE[0]) / Z_STEP)) + 1
    grid = torch.linspace(*Z_RANGE, n)
    with torch.no_grad():
        zz = torch.cartesian_prod(grid, grid).to(device)  # (z1, z2), z1 the slow index
        table = model.decoder(zz).mean.view(n, n, 8, 8).cpu().numpy()

    def decode(z1, z2) -> np.ndarray:
        i, j = (int(round((v - Z_RANGE[0]) / Z_STEP)) for v in (z1, z2))
        return table[min(max(i, 0), n - 1), min(max(j, 0), n - 1)]

    def build(fig, z1, z2):
        left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
        sc = left.scatter(means[:, 0], means[:, 1], c=colours, cmap="tab10", s=7, vmin=-0.5,
                          vmax=9.5)
        fig.colorbar(sc, ax=left, ticks=range(10), label="digit (never seen in training)")
        left.set(xlim=Z_RANGE, ylim=Z_RANGE, xlabel="z₁", ylabel="z₂", aspect="equal",
                 title="encoder means of the test digits")
        (marker,) = left.plot([], [], "X", ms=13, color="black", mec="white", mew=1.5)
        image = right.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1,
                             interpolation="nearest")
        right.set_axis_off()
        right.set_title("p_θ(x|z): Bernoulli means")
        fig.colorbar(image, ax=right, label="P(pixel = 1 | z)")

        def draw(z1, z2):
            y = decode(z1, z2)
            image.set_data(y)
            marker.set_data([z1], [z2])
            readout = (f"z = ({z1:.2f}, {z2:.2f}) &nbsp; pixels likely on (y > 0.5): "
                       f"{int((y > 0.5).sum())} of 64 &nbsp; θ unchanged")
            return [image, marker, readout]

        return draw

    controls = {"z1": slider(0.0, *Z_RANGE, Z_STEP, "z₁"), "z2": slider(0.0, *Z_RANGE, Z_STEP, "z₂")}
    return Dashboard(build, controls, figsize=(8.0, 3.6),
                     note="The decoder's weights θ are fixed; only its input z moves.")


DASHBOARDS = {"05 latent explorer": dashboard}
