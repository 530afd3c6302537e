"""vaelib.dashboards.l05_vae: the training explorer draws the snapshots' own decoder, encoder
and ELBO split; the split is checked against a hand-written Bernoulli log-likelihood (AEVB C.1)
and the hand-written Gaussian KL of Appendix B, not against the functions the view calls (the
slider sweep in test_sweep.py checks every position draws finite numbers)."""

import math
import re

import numpy as np
import torch

from vaelib import train, vae
from vaelib.dashboards import l05_vae
from vaelib.data import digits, labels


def _split_by_hand(m, x, draws=400):
    """(mean reconstruction, its standard error for a 10-draw estimate, mean KL) over the rows of x:
    log p_θ(x|z) = Σ_d x_d log y_d + (1 - x_d) log(1 - y_d), y = sigmoid(net(z)), z = μ + σ ε;
    KL = -½ Σ_j (1 + log σ_j² - μ_j² - σ_j²)."""
    mu, log_var = m.encoder.net(x).chunk(2, dim=-1)
    eps = torch.randn(draws, *mu.shape, generator=torch.Generator().manual_seed(1))
    y = torch.sigmoid(m.decoder.net(mu + (0.5 * log_var).exp() * eps))
    log_lik = (x * y.log() + (1 - x) * (1 - y).log()).sum(-1)  # (draws, images)
    kl = -0.5 * (1 + log_var - mu**2 - log_var.exp()).sum(-1)
    se10 = log_lik.std(0).pow(2).mean().div(10 * len(x)).sqrt().item()  # a 10-draw mean over the images
    return log_lik.mean().item(), se10, kl.mean().item()


def test_each_position_shows_its_own_theta_k_and_phi_k_and_their_elbo_split():
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
            tile = torch.sigmoid(m.decoder.net(z)).view(8, 8).numpy()
            shown = image.get_array()
            np.testing.assert_allclose(shown[1:9, 1:9], tile, rtol=1e-5, atol=1e-6)  # inside its frame
            assert shown.shape == (100, 100) and not shown[0].any() and not shown[:, 9:11].any()  # frames
            means = m.encoder.net(x_test)[:, :2].numpy()
            for digit, line in enumerate(lines):  # one line of markers per digit, in test-set order
                np.testing.assert_allclose(line.get_xydata(), means[labels("test").numpy() == digit],
                                           rtol=1e-5, atol=1e-6)
            recon, se, kl = _split_by_hand(m, x_test)
        shown = re.search(r"reconstruction (-?[\d.]+) - KL (-?[\d.]+) = ELBO (-?[\d.]+)", dash.readout.value)
        r_shown, kl_shown, elbo_shown = (float(v) for v in shown.groups())
        assert abs(kl_shown - kl) <= 0.005 + 1e-4                          # analytic: only the rounding
        assert abs(r_shown - recon) <= 4 * se + 0.005                      # the view's 10 draws per image
        assert abs(elbo_shown - (recon - kl)) <= 4 * se + 0.011
        assert math.isclose(float(marker.get_ydata()[0]), r_shown - kl_shown, abs_tol=0.011)
        assert f"after step {[0, 1, 12][step]} of 12" in dash.readout.value
