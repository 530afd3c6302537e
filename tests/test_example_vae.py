"""vaelib.example_vae: the port of pytorch/examples vae/main.py. Its loss against BCE + KLD written
by hand on the same tensors (against minus the summed SGVB ELBO of vaelib's VAE holding the same
weights: lesson 05's check). (Its source was compared line by line with vae/main.py at
pytorch/examples 77f55b9, lines 46-89, when it was written; CI is offline and cannot re-read that file.)"""

import torch

from vaelib import example_vae


def test_the_example_loss_is_bce_plus_kld_written_out():
    """BCE = -Σ [x log y + (1 - x) log(1 - y)] over pixels and batch;
    KLD = -½ Σ (1 + logvar - μ² - e^logvar)."""
    torch.manual_seed(3)
    recon_x = torch.rand(5, 64, dtype=torch.float64) * 0.98 + 0.01
    x = (torch.rand(5, 64, dtype=torch.float64) > 0.5).double()
    mu, logvar = torch.randn(5, 20, dtype=torch.float64), torch.randn(5, 20, dtype=torch.float64)
    bce = -(x * recon_x.log() + (1 - x) * (1 - recon_x).log()).sum()
    kld = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum()
    torch.testing.assert_close(example_vae.example_loss(recon_x, x, mu, logvar), bce + kld)
