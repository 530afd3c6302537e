"""Lesson 04: move x and compare three answers to "which z made this x?": the true posterior
p_θ(z|x), the best Gaussian q* for that x alone (λ*), and the encoder's guess q_φ(z|x)."""

import torch

from vaelib import inference
from vaelib.lvm import NonlinearLVM
from vaelib.widgets import Dashboard, slider

X_RANGE, X_STEP = (-1.0, 3.2), 0.02
Z_VIEW = (-4.0, 4.0)


def default_encoder(model, n: int = 200, steps: int = 400, seed: int = 0):
    """An encoder trained on n draws from the model (θ fixed), as in the lesson."""
    _, x = model.sample(n, generator=torch.Generator().manual_seed(seed))
    return inference.train_encoder(model, x, steps=steps, lr=0.02, seed=seed)["encoder"]


def dashboard(model=None, encoder=None) -> Dashboard:
    """Slider x. Left: p_θ(z|x) (grey), q*(z) = N(m*, s*²) (dashed) and q_φ(z|x) (orange). Right:
    the approximation gap log p_θ(x) - ELBO(q*) and the amortization gap ELBO(q*) - ELBO(q_φ)
    over x, the current x marked. Everything is precomputed on the slider's x values."""
    model = NonlinearLVM() if model is None else model
    if not isinstance(model, NonlinearLVM):
        raise ValueError(f"model: expected a vaelib.lvm.NonlinearLVM, got {type(model).__name__}")
    encoder = default_encoder(model) if encoder is None else encoder
    n = int(round((X_RANGE[1] - X_RANGE[0]) / X_STEP)) + 1
    xs = torch.linspace(*X_RANGE, n, dtype=torch.float64)
    zs = torch.linspace(*Z_VIEW, 321, dtype=torch.float64)
    gp = inference.gaps(model, xs, encoder)
    with torch.no_grad():
        posterior = model.posterior(xs).log_prob(zs[:, None]).exp().T.numpy()  # (n, Z)
        best = torch.distributions.Normal(gp["m"][:, None], gp["s"][:, None])
        q_best = best.log_prob(zs).exp().numpy()
        q_enc = encoder(xs).log_prob(zs[:, None]).exp().T.numpy()
    enc_m, enc_s = (t.numpy() for t in inference.encoder_parameters(encoder, xs))
    approx, amort = gp["approximation"].numpy(), gp["amortization"].numpy()
    zs_np, xs_np = zs.numpy(), xs.numpy()
    top = 1.5  # the sharpest posteriors at the range ends go off the top
    gap_top = max(approx.max(), amort.max()) * 1.1

    def build(fig, x):
        left, right = fig.subplots(1, 2, width_ratios=[1.3, 1])
        left.set(xlim=Z_VIEW, ylim=(0, top), xlabel="z", ylabel="density",
                 title="which z made this x?")
        (post_line,) = left.plot([], [], color="0.5", lw=3, label="posterior p_θ(z|x)")
        (best_line,) = left.plot([], [], "--", color="C0", lw=2, label="best Gaussian q* (λ*)")
        (enc_line,) = left.plot([], [], color="C1", lw=2, label="encoder q_φ(z|x)")
        left.legend(loc="upper left", fontsize=8)
        right.plot(xs_np, approx, color="C0", label="approximation gap")
        right.plot(xs_np, amort, color="C1", label="amortization gap")
        right.set(xlim=X_RANGE, ylim=(0, gap_top), xlabel="x", ylabel="nats",
                  title="gaps at every x")
        right.legend(loc="upper left", fontsize=8)
        marker = right.axvline(X_RANGE[0], color="k", lw=1)

        def draw(x):
            i = min(max(int(round((x - X_RANGE[0]) / X_STEP)), 0), n - 1)
            post_line.set_data(zs_np, posterior[i])
            best_line.set_data(zs_np, q_best[i])
            enc_line.set_data(zs_np, q_enc[i])
            marker.set_xdata([xs_np[i], xs_np[i]])
            readout = (f"x = {xs_np[i]:.2f} &nbsp; λ* = ({gp['m'][i]:.3f}, {gp['s'][i]:.3f}) "
                       f"&nbsp; encoder (μ_φ, σ_φ) = ({enc_m[i]:.3f}, {enc_s[i]:.3f}) &nbsp; "
                       f"approximation gap {approx[i]:.4f} &nbsp; amortization gap "
                       f"{amort[i]:.4f} nats")
            return [post_line, best_line, enc_line, marker, readout]

        return draw

    controls = {"x": slider(1.2, *X_RANGE, X_STEP, "x")}
    return Dashboard(build, controls, figsize=(9.5, 3.0),
                     note="Per-datapoint λ* needs an optimisation for every new x; the encoder "
                          "answers with one forward pass.")


DASHBOARDS = {"04 posterior vs λ* vs encoder": dashboard}
