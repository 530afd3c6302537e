"""vaelib: the small library behind the course "θ and φ, from one Gaussian to the VAE".

One module per symbol of the course, imported by name (nothing heavy happens on `import vaelib`):
    gaussian       01  one Gaussian, θ = (μ, σ): its likelihood and maximum likelihood
    joint          02  generative models p_θ(x, z) = p_θ(z) p_θ(x|z): linear-Gaussian, network decoder
    posterior      02  the exact p_θ(x) and p_θ(z|x) of a 1-D model, by quadrature on a grid
    dependency     02  which components of θ each distribution reads, by autograd
    figures        02  AEVB's Figure 1, drawn
    elbo           03  q_λ, the reparameterised draw, the ELBO and the bound L_K; their grid versions
    gradients      03  the score-function and reparameterisation gradient estimators
    per_datapoint  03  λ_i for every x_i, and q*, the best Gaussian for each x
    encoder        04  the amortized encoder q_φ(z|x) (and the network builder), the two gaps
    em             04  Fisher's identity; exact EM, variational EM and the amortized VAE on one model
    ppca           04  probabilistic PCA in closed form
    linear_vae     04  the linear VAE, whose decoder is pPCA
    vae            05  AEVB Appendix C: decoders p_θ(x|z) and the VAE, built on elbo and encoder
    train          05  training θ and φ together over minibatches; the weights cache
    example_vae    05  the PyTorch examples' VAE, ported verbatim for the side-by-side
    noise          06  the decoder's σ: fixed (a hyper-parameter), learned per pixel, shared, floored
    priors         06  a learned Gaussian prior (absorbed by the decoder) and a mixture prior p_θ(z)
    full_vb        06  θ as a random variable (AEVB Appendix F): q_λ(w) against the exact posterior
    data               scikit-learn's bundled 8x8 digits (and local MNIST files, optional)
    optim              the one optimisation loop of lessons 01-04
    widgets, png       dashboards drawn in place, shown as PNG; dashboards/ has every lesson's
    checks, validate   self-checks for the exercises; argument checks for every public function
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
