"""Lesson 05: the VAE of pytorch/examples (vae/main.py: 784-400-20, ReLU, a sigmoid output, loss = BCE
summed + KLD), ported to the 8x8 digits in the example's own style and names, to read beside vaelib's:
the one place vaelib repeats, verbatim, what it also does its own way.
"""

import torch
from torch import nn

from vaelib import validate
from vaelib.vae import VAE, make_vae


class ExampleVAE(nn.Module):
    """The example's VAE with x_dim = 64: 64-400-20; `eps` lets a test feed both VAEs the same noise."""

    def __init__(self, x_dim: int = 64, hidden: int = 400, z_dim: int = 20):
        super().__init__()
        self.x_dim = validate.positive_int("x_dim", x_dim)
        hidden, z_dim = validate.positive_int("hidden", hidden), validate.positive_int("z_dim", z_dim)
        self.fc1 = nn.Linear(x_dim, hidden)
        self.fc21 = nn.Linear(hidden, z_dim)
        self.fc22 = nn.Linear(hidden, z_dim)
        self.fc3 = nn.Linear(z_dim, hidden)
        self.fc4 = nn.Linear(hidden, x_dim)

    def encode(self, x):
        h1 = torch.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps=None):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std) if eps is None else eps
        return mu + eps * std

    def decode(self, z):
        h3 = torch.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x.view(-1, self.x_dim))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def example_loss(recon_x, x, mu, logvar) -> torch.Tensor:
    """The example's loss_function: BCE summed over pixels and batch + KLD, where
    KLD = -0.5 * sum(1 + logvar - mu² - exp(logvar)) (AEVB Appendix B): the NEGATIVE ELBO summed."""
    recon_x, x = validate.tensor("recon_x", recon_x), validate.tensor("x", x)
    if x.numel() != recon_x.numel():
        raise ValueError(f"x: expected as many pixels as recon_x {tuple(recon_x.shape)}, "
                         f"got shape {tuple(x.shape)}")
    bce = nn.functional.binary_cross_entropy(recon_x, x.view(-1, recon_x.shape[-1]),
                                             reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def vae_from_example(example: ExampleVAE) -> VAE:
    """A vaelib VAE (ReLU MLPs, Bernoulli decoder) holding exactly the example's weights:
    encoder = fc1 then [fc21; fc22] stacked, decoder = fc3, fc4 (the sigmoid is in Bernoulli)."""
    validate.instance("example", example, ExampleVAE, "an ExampleVAE")
    hidden, z_dim = example.fc1.out_features, example.fc21.out_features
    model = make_vae("bernoulli", z_dim, example.x_dim, (hidden,), "relu")
    model = model.to(example.fc1.weight.device)
    enc, dec = model.encoder.net, model.decoder.net
    with torch.no_grad():
        enc[0].load_state_dict(example.fc1.state_dict())
        enc[2].weight.copy_(torch.cat([example.fc21.weight, example.fc22.weight]))
        enc[2].bias.copy_(torch.cat([example.fc21.bias, example.fc22.bias]))
        dec[0].load_state_dict(example.fc3.state_dict())
        dec[2].load_state_dict(example.fc4.state_dict())
    return model
