"""vaelib.full_vb: θ as a random variable on the linear-Gaussian model. The model at a batch of w against
one LinearGaussianLVM per w; the reparameterised bound against its quadrature. (log p_α(X) against Monte
Carlo from the hyperprior: lesson 06's check; the fit against the exact posterior on w > 0, the two-mode
condition and the encoder against the mean-field optimum: further/06d's.)"""

import math

import torch

from vaelib import full_vb, posterior
from vaelib.joint import LinearGaussianLVM

F64 = torch.float64


def _data(n, seed=0):
    _, x = LinearGaussianLVM(0.0, 1.0, 1.2, 0.3, 0.5).sample(n, generator=torch.Generator().manual_seed(seed))
    return x


def test_a_batch_of_w_gives_what_one_model_per_w_gives():
    f = full_vb.FullVB(_data(30), b=0.3, sigma=0.5)
    ws = torch.tensor([[-1.5, 0.0], [0.4, 2.2]], dtype=F64)
    one_by_one = torch.stack([LinearGaussianLVM(0.0, 1.0, w, 0.3, 0.5).marginal().log_prob(f.x).sum()
                              for w in ws.flatten()]).view(2, 2)
    torch.testing.assert_close(f.log_evidence(ws), one_by_one)
    torch.testing.assert_close(f.log_evidence(ws[0, 0]), one_by_one[0, 0])


def test_the_reparameterised_bound_averages_to_the_quadrature_bound_below_the_evidence():
    f = full_vb.FullVB(_data(50), b=0.3, sigma=0.5)
    with torch.no_grad():
        f.lam["m"].fill_(1.1)
        f.lam["log_s"].fill_(math.log(0.15))
        draws = torch.stack([f.bound(1, torch.Generator().manual_seed(i)) for i in range(4000)])
    exact = f.exact_bound()
    assert abs(draws.mean().item() - exact.item()) < 4 * draws.std().item() / math.sqrt(4000)
    log_evidence = posterior.posterior(f, f.x).log_normaliser
    assert exact < log_evidence - math.log(2) + 0.05  # q sits on one of two mirror-image modes
