"""Where a learner's call meets vaelib, a mistake gets a clear error: a ValueError whose message names
the argument ("sigma: ...") and says what was expected ("... expected ..."), raised before any work.

The calls are those the notebooks make (lessons and notebooks/further/), each given one argument a
learner can get wrong: a negative scale, a wrong shape, NaN data, a count of 0, an unknown name. The
test asserts the kind of error and those two parts of its message, not its wording. A second test
reads every notebook and fails if it calls a vaelib function this table does not cover (or names as
taking no argument a learner can get wrong).
"""

import ast
import json
import math
import pathlib

import pytest
import torch
from IPython.core.inputtransformer2 import TransformerManager
from torch.distributions import Normal

from vaelib import (
    checks,
    data,
    dependency,
    elbo,
    em,
    encoder,
    example_vae,
    figures,
    full_vb,
    gaussian,
    gradients,
    joint,
    linear_vae,
    noise,
    optim,
    per_datapoint,
    posterior,
    ppca,
    priors,
    train,
    vae,
    widgets,
)
from vaelib.dashboards import l01_gaussian, l03_vi, l04_amortized, l04_theta_phi, l05_vae

NAN = float("nan")
X1 = torch.tensor([0.3, 1.2, -0.4], dtype=torch.float64)  # three 1-D data points
DIGITS = (torch.rand(20, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()


def small_vae():
    return vae.make_vae(z_dim=2, hidden=(8,), seed=0)


def network():
    return joint.NonlinearLVM()


# (the call as a notebook writes it, the call with one mistake, the argument the message must name)
CASES = [
    ("checks.check", lambda: checks.check("σ̂", "one", 1.0), "answer"),
    ("checks.choose", lambda: checks.choose("q", {"p(z)"}, {"p(x)"}, {"p(x)": "."}), "answer"),
    ("data.digits", lambda: data.digits("validation"), "split"),
    ("data.labels", lambda: data.labels("everything"), "split"),
    ("gaussian.sample_data", lambda: gaussian.sample_data(n=0), "n"),
    ("joint.LinearGaussianLVM", lambda: joint.LinearGaussianLVM(s_z=-1.0), "s_z"),
    ("joint.NonlinearLVM", lambda: joint.NonlinearLVM(sigma=0.0), "sigma"),
    ("joint.DecoderNet", lambda: joint.DecoderNet(hidden=0), "hidden"),
    ("posterior.posterior", lambda: posterior.posterior(network(), NAN), "x"),
    ("posterior.quadrature_grid", lambda: posterior.quadrature_grid(network(), X1, stride=0), "stride"),
    ("posterior.GridDensity", lambda: posterior.GridDensity([0.0, 1.0, 3.0], torch.zeros(3)), "grid"),
    ("dependency.dependency_matrix",
     lambda: dependency.dependency_matrix({"p": joint.LinearGaussianLVM().prior},
                                          {"mu_z": torch.tensor(0.0)}, [NAN]), "points"),
    ("figures.aevb_figure1", lambda: figures.aevb_figure1(ax="the left one"), "ax"),
    ("elbo.elbo", lambda: elbo.elbo(network(), X1, Normal(0.0, 1.0), n_samples=0), "n_samples"),
    ("elbo.elbo_grid", lambda: elbo.elbo_grid(network(), 1.0, 0.0, -0.5), "s"),
    ("elbo.elbo_surface", lambda: elbo.elbo_surface(network(), NAN, [0.0], [1.0]), "x"),
    ("elbo.iwae_bound", lambda: elbo.iwae_bound(network(), X1, Normal(0.0, 1.0), k=0), "k"),
    ("elbo.elbo_from_log_joint",
     lambda: elbo.elbo_from_log_joint(lambda z: -z**2, torch.linspace(-5, 5, 101), 0.0, -1.0), "s"),
    ("elbo.kl_to_posterior_grid", lambda: elbo.kl_to_posterior_grid(network(), 1.0, 0.0, 0.0), "s"),
    ("elbo.kl_from_log_posterior",
     lambda: elbo.kl_from_log_posterior(torch.zeros(5), torch.tensor([0.0, 1, 3, 4, 5]), 0.0, 1.0), "grid"),
    ("gradients.reparam_gradient", lambda: gradients.reparam_gradient(lambda z: z, 0.0, 1.0, 0), "n_samples"),
    ("gradients.score_function_gradient",
     lambda: gradients.score_function_gradient(lambda z: z**2, 0.0, -1.0), "s"),
    ("gradients.quadratic_gradient_variances", lambda: gradients.quadratic_gradient_variances(0, 0), "sigma"),
    ("per_datapoint.fit_per_datapoint", lambda: per_datapoint.fit_per_datapoint(network(), X1, steps=0),
     "steps"),
    ("per_datapoint.optimal_gaussian", lambda: per_datapoint.optimal_gaussian(network(), [NAN]), "x"),
    ("encoder.ScalarEncoder", lambda: encoder.ScalarEncoder(hidden=0), "hidden"),
    ("encoder.train_encoder", lambda: encoder.train_encoder(network(), X1, steps=0), "steps"),
    ("encoder.gaps", lambda: encoder.gaps(network(), X1, "an encoder"), "encoder"),
    ("encoder.count_parameters", lambda: encoder.count_parameters("a network"), "module"),
    ("em.fisher_gradient", lambda: em.fisher_gradient(network(), X1, [0.0, 1.0]), "grid"),
    ("em.exact_em", lambda: em.exact_em(network(), X1, iterations=0), "iterations"),
    ("em.variational_em", lambda: em.variational_em(network(), X1, iterations=0), "iterations"),
    ("em.amortized", lambda: em.amortized(network(), X1, lr=0.0), "lr"),
    ("optim.maximise", lambda: optim.maximise([], lambda: torch.zeros(()), max_iter=0), "max_iter"),
    ("ppca.PPCA", lambda: ppca.PPCA(torch.ones(3, 1), torch.zeros(3), -1.0), "sigma2"),
    ("ppca.PPCA.fit", lambda: ppca.PPCA.fit(torch.randn(10, 3, dtype=torch.float64), 3), "q"),
    ("linear_vae.standardise", lambda: linear_vae.standardise([1.0, 2.0]), "X"),
    ("linear_vae.LinearVAE", lambda: linear_vae.LinearVAE(d=0, q=1), "d"),
    ("linear_vae.fit_linear_vae_analytic", lambda: linear_vae.fit_linear_vae_analytic(torch.ones(1, 3)), "X"),
    ("linear_vae.fit_linear_vae_sampled",
     lambda: linear_vae.fit_linear_vae_sampled(torch.ones(5, 3), steps=0), "steps"),
    ("vae.make_vae", lambda: vae.make_vae("poisson"), "decoder"),
    ("vae.VAE.elbo", lambda: small_vae().elbo(DIGITS[:, :8]), "x"),
    ("vae.VAE.log_marginal", lambda: small_vae().log_marginal(DIGITS, K=0), "K"),
    ("train.train", lambda: train.train(small_vae(), DIGITS, epochs=0), "epochs"),
    ("example_vae.ExampleVAE", lambda: example_vae.ExampleVAE(hidden=0), "hidden"),
    ("example_vae.example_loss", lambda: example_vae.example_loss(DIGITS, DIGITS[:, :8], None, None), "x"),
    ("example_vae.vae_from_example", lambda: example_vae.vae_from_example(small_vae()), "example"),
    ("noise.likelihood_ceiling", lambda: noise.likelihood_ceiling(0.0), "min_scale"),
    ("noise.FixedNoiseDecoder", lambda: noise.FixedNoiseDecoder(sigma=-0.1), "sigma"),
    ("noise.SharedNoiseDecoder", lambda: noise.SharedNoiseDecoder(sigma=0.0), "sigma"),
    ("priors.GaussianPriorVAE",
     lambda: priors.GaussianPriorVAE(small_vae().encoder, small_vae().decoder, scale=[1.0, -1.0]), "scale"),
    ("priors.MixturePriorVAE",
     lambda: priors.MixturePriorVAE(small_vae().encoder, small_vae().decoder, components=0), "components"),
    ("priors.absorb_prior", lambda: priors.absorb_prior(small_vae()), "model"),
    ("full_vb.FullVB", lambda: full_vb.FullVB(X1, alpha=-1.0), "alpha"),
    ("widgets.slider", lambda: widgets.slider(2.0, -1.0, 1.0, 0.1), "value"),
    ("l01_gaussian.dashboard", lambda: l01_gaussian.dashboard(x=[NAN, 1.0]), "x"),
    ("l01_gaussian.dashboard().update", lambda: l01_gaussian.dashboard().update(nu=1.0), "nu"),
    ("linear_vae.ml_theta_1d", lambda: linear_vae.ml_theta_1d(X1[:, None], 0.5, -0.1), "sigma"),
    ("l03_vi.dashboard", lambda: l03_vi.dashboard(x=math.inf), "x"),
    ("l04_amortized.dashboard", lambda: l04_amortized.dashboard(encoder="an encoder"), "encoder"),
    ("l04_theta_phi.dashboard", lambda: l04_theta_phi.dashboard(x=[[1.0, 2.0]]), "x"),
    ("l05_vae.dashboard", lambda: l05_vae.dashboard(model="a model"), "model"),
    ("l05_vae.training_dashboard", lambda: l05_vae.training_dashboard(small_vae(), snapshots=[]),
     "snapshots"),
]
# What the notebooks call that takes no argument a learner can get wrong, and why.
NOTHING_TO_GET_WRONG = {
    "checks.attempt": "takes the learner's function and the reference; a wrong answer is checks.check's",
    "checks.environment": "no arguments",
    "checks.NotYet": "the exception a self-check raises with its verdict; a learner never calls it",
    "figures.use_course_style": "no arguments",
    "l02_lvm.linear_dashboard": "no arguments", "l02_network.dashboard": "no arguments",
    "theta_phi.data_set": "no arguments", "l00_start.dashboard": "no arguments",
    "theta_phi.dependencies": "no arguments: lesson 04's own θ and φ",
    "theta_phi.at_theta": "called by lesson 04's check and further/04c with ml_theta_1d's θ",
    "l02_lvm.linear_dependencies": "called by a check cell with the dashboard's own values",
    "common.positions": "called by a check cell with a dashboard's slider constants",
}


@pytest.mark.parametrize("call, argument", [(c, a) for _, c, a in CASES], ids=[n for n, _, _ in CASES])
def test_a_learners_mistake_gets_an_error_naming_the_argument_and_what_was_expected(call, argument):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert message.split(":")[0].split(" ")[-1] == argument or f"{argument}:" in message, message
    assert "expected" in message, message


def notebook_calls() -> set[str]:
    """'module.function' (or 'module.Class.method') for every call of vaelib in the notebooks; the
    module as vaelib names it ('elbo', 'l02_lvm', 'ppca.PPCA'), whatever the notebook imports it as."""
    found, transform = set(), TransformerManager().transform_cell
    for path in (pathlib.Path(__file__).parents[1] / "notebooks").rglob("*.ipynb"):
        aliases = {}
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            tree = ast.parse(transform("".join(cell["source"])))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vaelib"):
                    home = node.module.removeprefix("vaelib").removeprefix(".dashboards").lstrip(".")
                    for a in node.names:
                        aliases[a.asname or a.name] = f"{home}.{a.name}".lstrip(".")
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    parts, f = [], node.func
                    while isinstance(f, ast.Attribute):
                        parts, f = [f.attr, *parts], f.value
                    if isinstance(f, ast.Name) and f.id in aliases and not any(p.isupper() for p in parts):
                        found.add(".".join([aliases[f.id], *parts]))
    return found


def test_every_call_the_notebooks_make_is_covered():
    covered = {n for n, _, _ in CASES} | set(NOTHING_TO_GET_WRONG)
    missing = sorted(c for c in notebook_calls() if c not in covered and c.rsplit(".", 1)[0] not in covered)
    assert not missing, f"notebooks call these without a bad-input case here: {missing}"
