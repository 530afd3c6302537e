"""vaelib.dashboards.l05_vae: the training explorer draws the snapshots' own decoder, encoder
and ELBO terms (the slider sweep in test_sweep.py checks every position draws finite numbers)."""

import numpy as np
import torch

from vaelib import elbo, train, vae
from vaelib.dashboards import l05_vae
from vaelib.data import digits, labels


def test_each_position_shows_its_own_theta_k_and_phi_k():
    x = digits("train", "binary")[:300]
    model = vae.make_vae(z_dim=2, hidden=(16,), seed=0)
    hist = train.train(model, x, epochs=4, batch_size=100, lr=2e-2, snapshots=3, progress=False)
    dash = l05_vae.training_dashboard(model, hist["snapshots"])
    k = dash.controls["k"]
    assert (k.min, k.max, k.value) == (0, 2, 2)
    first = vae.make_vae(z_dim=2, hidden=(16,), seed=0)  # snapshot 0: the untrained weights
    x_test = digits("test", "binary")
    for step, m in ((0, first), (2, model)):
        dash.update(k=step)
        image, lines, marker = dash._changed[0], dash._changed[1:11], dash._changed[11]
        with torch.no_grad():
            z = torch.tensor([[-3 + 0.3, 3 - 0.3]])  # the top-left tile's centre
            tile = m.decoder(z).mean.view(8, 8).numpy()
            np.testing.assert_allclose(image.get_array()[:8, :8], tile, rtol=1e-5, atol=1e-6)
            means = m.encoder(x_test).mean.numpy()
            for digit, line in enumerate(lines):  # one line of markers per digit, in test-set order
                np.testing.assert_allclose(line.get_xydata(), means[labels("test").numpy() == digit],
                                           rtol=1e-5)
            q = m.encoder(x_test)
            zs = elbo.reparameterised_sample(q, 400, torch.Generator().manual_seed(1))
            expected, kl = m.elbo_terms(x_test, q, zs)
        shown = float(marker.get_ydata()[0])
        assert abs(shown - (expected - kl).mean().item()) < 0.2  # the view uses 10 draws per image
        assert f"after epoch {[0, 2, 4][step]}" in dash.readout.value
