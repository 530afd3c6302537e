"""vaelib.example_vae: the PyTorch example's loss is minus the summed SGVB ELBO of vaelib's VAE."""

import torch

from vaelib import example_vae
from vaelib.data import digits


def test_pytorch_example_loss_is_minus_the_summed_sgvb_elbo():
    torch.manual_seed(2)
    example = example_vae.ExampleVAE()
    model = example_vae.vae_from_example(example)
    x = digits("train", "binary")[:64]
    eps = torch.randn(64, 20)
    recon_x, mu, logvar = example(x, eps=eps)
    loss = example_vae.example_loss(recon_x, x, mu, logvar)
    torch.testing.assert_close(loss, -model.elbo(x, eps=eps).sum(), rtol=1e-5, atol=1e-3)
    assert sum(p.numel() for p in example.parameters()) == sum(p.numel() for p in model.parameters())


