"""vaelib: the small library behind the course "θ and φ, from one Gaussian to the VAE".

One module per idea, imported by name (nothing heavy happens on `import vaelib`):
    vaelib.gaussian    lesson 01: one Gaussian, θ = (μ, σ), its likelihood and MLE
    vaelib.lvm         lesson 02: latent-variable models p_θ(x, z) = p_θ(z) p_θ(x|z)
    vaelib.inference   lessons 03-04: ELBO, IWAE bound, gradient estimators, amortization
    vaelib.data        lesson 05: scikit-learn's bundled 8x8 digits
    vaelib.vae         lesson 05: the AEVB Appendix C model
    vaelib.widgets     dashboards drawn in place, shown as PNG
    vaelib.dashboards  every lesson's dashboards, found by name
    vaelib.checks      self-checks for the exercises
"""

import contextlib

__version__ = "0.1.0"


def device():
    """CUDA when present, else the CPU: the course runs on either."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def threads(n: int | None):
    """torch's CPU thread count set to `n` inside the block, restored after (None: unchanged).
    The course's tensors are tiny: one thread is as fast, and spare threads only spin against
    the browser, the server and other kernels on a small machine."""
    import torch

    from vaelib import validate

    n = None if n is None else validate.positive_int("threads", n)
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
