"""Bad input: every public vaelib function and class, the bad inputs tried, the error expected.

BAD_INPUTS is the table: one row per bad call, (target, call, argument, expected, error). The
error is a ValueError whose message starts with the argument's name and says what was expected
(house rule); the row checks those two, not the whole sentence. A self-check raises an
AssertionError by design. The per-module test files hold no bad-input rows of their own: this
table is the one place. RECOVERS lists
inputs that must NOT raise: a missing or corrupt cache file means "train again" (load_weights
returns False and says why). `test_every_public_callable_is_in_the_table` finds vaelib's public
functions and classes by introspection, so a new one without a row (or a justified exemption)
fails the suite.
"""

import importlib
import inspect
import math
import pkgutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
import torch
from matplotlib.figure import Figure

import vaelib
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
    validate,
    widgets,
)
from vaelib.dashboards import (
    common,
    l00_start,
    l01_gaussian,
    l02_lvm,
    l03_vi,
    l04_amortized,
    l04_theta_phi,
    l05_vae,
)

NAN, INF = math.nan, math.inf


class Row(NamedTuple):
    target: str  # the public callable under test, "module.name"
    call: Callable  # call(tmp_path): makes the bad call
    argument: str | None  # the message starts with "argument:" (None: a message not about one)
    expects: str  # what was expected, a fragment of the message
    error: type = ValueError


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def idx_header(dims: tuple[int, ...], type_code: int = 0x08) -> bytes:
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


# Small, valid objects to aim bad arguments at.
def linear() -> joint.LinearGaussianLVM:
    return joint.LinearGaussianLVM()


def nonlinear() -> joint.NonlinearLVM:
    return joint.NonlinearLVM(grid=torch.linspace(-6, 6, 241, dtype=torch.float64))


def q0() -> torch.distributions.Normal:
    return elbo._variational(0.0, 1.0)


def small_vae() -> vae.VAE:
    return vae.make_vae(z_dim=2, hidden=(8,))


def small_ppca() -> ppca.PPCA:
    return ppca.PPCA(torch.ones(3, 1), torch.zeros(3), 0.5)


def dep_matrix(**kw):
    model = linear()
    args = dict(distributions={"prior": model.prior}, params=model.parameters(),
                points=torch.tensor([0.3, -1.2]))
    return dependency.dependency_matrix(**{**args, **kw})


def grid_density(grid, log_density) -> posterior.GridDensity:
    return posterior.GridDensity(torch.as_tensor(grid, dtype=torch.float64),
                                 torch.as_tensor(log_density, dtype=torch.float64))


X3 = torch.randn(10, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
DIGITS = torch.zeros(4, 64)
SQUARE = lambda z: z**2  # noqa: E731


def _R(target, call, argument, expects, error=ValueError):
    """A row; target is written without its "vaelib." prefix."""
    return Row(f"vaelib.{target}", call, argument, expects, error)


BAD_INPUTS = [
    # vaelib.validate: the checks every public function uses
    _R("validate.tensor", lambda t: validate.tensor("v", object()),
       'v', 'expected numbers'),
    _R("validate.tensor", lambda t: validate.tensor("v", [1.0, 2.0], ndim=2),
       'v', 'expected a 2-D tensor, got shape (2,)'),
    _R("validate.tensor", lambda t: validate.tensor("v", []),
       'v', 'expected at least 1 value'),
    _R("validate.tensor", lambda t: validate.tensor("v", [1.0, NAN]),
       'v', 'expected finite'),
    _R("validate.tensor", lambda t: validate.tensor("v", [-INF]),
       'v', 'expected finite'),
    _R("validate.tensor", lambda t: validate.tensor("v", [1 + 2j]),
       'v', 'expected real numbers'),
    _R("validate.scale", lambda t: validate.scale("s", [1.0, 0.0]),
       's', 'a scale must be > 0'),
    _R("validate.scale", lambda t: validate.scale("s", -2.0),
       's', 'a scale must be > 0'),
    _R("validate.scale", lambda t: validate.scale("s", INF),
       's', 'expected finite'),
    _R("validate.positive_int", lambda t: validate.positive_int("k", 0),
       'k', 'expected a whole number >= 1, got 0'),
    _R("validate.positive_int", lambda t: validate.positive_int("k", 2.0),
       'k', 'expected a whole'),
    _R("validate.positive_int", lambda t: validate.positive_int("k", True),
       'k', 'expected a whole'),
    _R("validate.positive_int", lambda t: validate.positive_int("k", torch.tensor(1.0)),
       'k', 'expected a whole'),
    _R("validate.finite_float", lambda t: validate.finite_float("lr", "fast"),
       'lr', 'expected a number'),
    _R("validate.finite_float", lambda t: validate.finite_float("lr", NAN),
       'lr', 'expected a finite number'),
    _R("validate.scalar", lambda t: validate.scalar("w", [1.0, 2.0]), "w", "expected a single number"),
    _R("validate.scalar", lambda t: validate.scalar("s", -1.0, positive=True), "s", "a scale must be > 0"),
    _R("validate.rows", lambda t: validate.rows("x", torch.ones(2, 3), 4), "x", "expected shape (N, 4)"),
    _R("validate.rows", lambda t: validate.rows("x", torch.ones(3), 3), "x", "expected a 2-D tensor"),
    _R("validate.positive", lambda t: validate.positive("lr", 0.0), "lr", "expected a number > 0"),
    _R("validate.positive", lambda t: validate.positive("wd", -1.0, allow_zero=True), "wd",
       "expected a number >= 0"),
    _R("validate.fraction", lambda t: validate.fraction("p", 1.0), "p", "expected a number in [0, 1)"),
    _R("validate.fraction", lambda t: validate.fraction("ema", 0.0, closed=True), "ema",
       "expected a number in (0, 1)"),
    _R("validate.one_of", lambda t: validate.one_of("view", "colour", ("grey", "binary")), "view",
       "expected one of ['grey', 'binary']"),
    _R("validate.instance", lambda t: validate.instance("model", 3, torch.nn.Module, "a module"),
       "model", "expected a module, got int"),
    _R("validate.grid", lambda t: validate.grid("grid", [0.0, 1.0, 3.0]), "grid", "expected equally spaced"),
    _R("validate.grid", lambda t: validate.grid("grid", [2.0, 1.0, 0.0]), "grid", "expected equally spaced"),
    _R("validate.grid", lambda t: validate.grid("grid", [0.0, 1.0]), "grid", "expected at least 3 value"),
    # vaelib.optim
    _R("optim.ascend", lambda t: optim.ascend([torch.zeros(1, requires_grad=True)], lambda: 0, 0, 0.1),
       "steps", "expected a whole number >= 1"),
    _R("optim.ascend", lambda t: optim.ascend([torch.zeros(1, requires_grad=True)], lambda: 0, 5, -1.0),
       "lr", "expected a number > 0"),
    _R("optim.maximise", lambda t: optim.maximise([torch.zeros(1, requires_grad=True)], lambda: 0, 0),
       "max_iter", "expected a whole number >= 1"),
    # vaelib.checks
    _R("checks.check", lambda t: checks.check("n", "three", 3),
       'check', 'answer must be a number'),
    _R("checks.check", lambda t: checks.check("n", 3, object()),
       'check', 'expected must be'),
    _R("checks.attempt", lambda t: checks.attempt(None, SQUARE),
       'attempt', 'expected two functions'),
    _R("checks.attempt", lambda t: checks.attempt(SQUARE, 3),
       'attempt', 'expected two functions'),
    _R("checks.environment", lambda t: checks.environment(min_python=(99, 0)),
       None, 'is too old', AssertionError),
    _R("checks._verdict", lambda t: checks._verdict([1.0], object()), "check", "expected must be a number"),
    _R("checks.choose", lambda t: checks.choose("q", {"KL"}, {"ELBO"}, {"ELBO": "why"}), "q",
       "['KL'] are not among the options", AssertionError),
    # vaelib.gaussian
    _R("gaussian.gaussian", lambda t: gaussian.gaussian(0.0, -1.0),
       'sigma', 'a scale must be > 0'),
    _R("gaussian.gaussian", lambda t: gaussian.gaussian(0.0, 0.0),
       'sigma', 'a scale must be > 0'),
    _R("gaussian.gaussian", lambda t: gaussian.gaussian(NAN, 1.0),
       'mu', 'expected finite'),
    _R("gaussian.gaussian", lambda t: gaussian.gaussian(0.0, INF),
       'sigma', 'expected finite'),
    _R("gaussian.gaussian", lambda t: gaussian.gaussian("zero", 1.0),
       'mu', 'expected numbers'),
    _R("gaussian.sample_data", lambda t: gaussian.sample_data(0),
       'n', 'expected a whole number >= 1'),
    _R("gaussian.sample_data", lambda t: gaussian.sample_data(2.5),
       'n', 'expected a whole number'),
    _R("gaussian.sample_data", lambda t: gaussian.sample_data(5, sigma=-1.0),
       'sigma', 'a scale'),
    _R("gaussian.sample_data", lambda t: gaussian.sample_data(5, mu=NAN),
       'mu', 'expected a finite'),
    _R("gaussian.log_likelihood", lambda t: gaussian.log_likelihood([[1.0, 2.0]], 0.0, 1.0),
       'x', 'expected a 1-D tensor'),
    _R("gaussian.log_likelihood", lambda t: gaussian.log_likelihood([], 0.0, 1.0),
       'x', 'expected at least 1 value'),
    _R("gaussian.log_likelihood", lambda t: gaussian.log_likelihood([1.0, NAN], 0.0, 1.0),
       'x', 'expected finite'),
    _R("gaussian.log_likelihood", lambda t: gaussian.log_likelihood([1.0], 0.0, 0.0),
       'sigma', 'a scale must be > 0'),
    _R("gaussian.log_likelihood", lambda t: gaussian.log_likelihood([1.0], torch.zeros(2), torch.ones(3)),
       'mu and sigma', 'expected the same shape'),
    _R("gaussian.mle", lambda t: gaussian.mle([1.0]),
       'x', 'expected at least 2 value'),
    _R("gaussian.mle", lambda t: gaussian.mle([1.0, INF]),
       'x', 'expected finite'),
    _R("gaussian.mle", lambda t: gaussian.mle(torch.ones(2, 2)),
       'x', 'expected a 1-D tensor'),
    _R("gaussian.mle_by_gradient_ascent", lambda t: gaussian.mle_by_gradient_ascent([1.0, 2.0], steps=0),
       'steps', 'expected a whole'),
    _R("gaussian.mle_by_gradient_ascent", lambda t: gaussian.mle_by_gradient_ascent([1.0, 2.0], lr=0.0),
       'lr', 'expected a number > 0'),
    _R("gaussian.mle_by_gradient_ascent", lambda t: gaussian.mle_by_gradient_ascent([1.0, 2.0], lr=NAN),
       'lr', 'expected a finite number'),
    _R("gaussian.mle_by_gradient_ascent", lambda t: gaussian.mle_by_gradient_ascent([1.0, 2.0], sigma0=-1.0),
       'sigma0', 'expected a number > 0'),
    _R("gaussian.mle_by_gradient_ascent", lambda t: gaussian.mle_by_gradient_ascent([1.0, 2.0], mu0=INF),
       'mu0', 'expected a finite'),
    _R("gaussian.mle_by_gradient_ascent", lambda t: gaussian.mle_by_gradient_ascent([NAN, 2.0]),
       'x', 'expected finite'),
    # vaelib.data (a corrupt or truncated IDX file is bad input too)
    _R("data.digits", lambda t: data.digits("training"),
       'split', 'expected one of'),
    _R("data.digits", lambda t: data.digits("train", "colour"),
       'view', 'expected one of'),
    _R("data.labels", lambda t: data.labels("validation"),
       'split', 'expected one of'),
    # vaelib.widgets and the dashboards
    _R("widgets.slider", lambda t: widgets.slider(NAN, 0.0, 1.0, 0.1),
       'slider', 'value must be a finite'),
    _R("widgets.slider", lambda t: widgets.slider(0.5, 1.0, 0.0, 0.1),
       'slider', 'expected lo < hi'),
    _R("widgets.slider", lambda t: widgets.slider(2.0, 0.0, 1.0, 0.1),
       'slider', 'value must lie in'),
    _R("widgets.slider", lambda t: widgets.slider(0.5, 0.0, 1.0, 0.0),
       'slider', 'step must be positive'),
    _R("widgets.slider", lambda t: widgets.slider(0.5, 0.0, INF, 0.1),
       'slider', 'hi must be a finite'),
    _R("widgets.Dashboard", lambda t: widgets.Dashboard(lambda fig: None, {}),
       None, 'controls must name at least one slider'),
    _R("widgets.Dashboard", lambda t: l00_start.dashboard().update(sigma=1.0),
       'update', "unknown control(s) ['sigma']"),
    _R("dashboards.l01_gaussian.dashboard", lambda t: l01_gaussian.dashboard(x=[1.0, NAN]),
       'x', 'expected finite'),
    _R("dashboards.l01_gaussian.dashboard", lambda t: l01_gaussian.dashboard(x=[1.0]),
       'x', 'expected at least 2 value'),
    _R("dashboards.l02_lvm.linear_dependencies", lambda t: l02_lvm.linear_dependencies({"omega": 1.0}),
       'values', "expected keys among ['mu_z', 's_z', 'w', 'b', 'sigma', 'x'], got ['omega']"),
    _R("dashboards.l02_lvm.linear_dependencies", lambda t: l02_lvm.linear_dependencies({"s_z": -1.0}),
       's_z', 'a scale must be > 0'),
    _R("dashboards.l03_vi.dashboard", lambda t: l03_vi.dashboard(x=NAN),
       'x', 'expected a finite number'),
    _R("dashboards.l03_vi.dashboard", lambda t: l03_vi.dashboard(model="model"),
       'model', 'expected a model with log_joint(x, z) and a .grid'),
    _R("dashboards.l03_vi._q_grid", lambda t: l03_vi._q_grid("model"),
       'model', 'expected a model with log_joint(x, z) and a .grid'),
    _R("dashboards.l04_amortized.dashboard", lambda t: l04_amortized.dashboard(model="model"),
       'model', 'expected a vaelib.joint.NonlinearLVM'),
    _R("dashboards.l04_amortized._default_encoder", lambda t: l04_amortized._default_encoder(nonlinear(), n=0),
       'n', 'expected a whole number'),
    _R("dashboards.l04_amortized._default_encoder",
       lambda t: l04_amortized._default_encoder(nonlinear(), steps=0),
       'steps', 'expected a whole'),
    _R("dashboards.l05_vae.dashboard", lambda t: l05_vae.dashboard(model="model"),
       'model', 'expected a vaelib VAE with z_dim=2'),
    _R("dashboards.l05_vae.dashboard", lambda t: l05_vae.dashboard(model=vae.make_vae(z_dim=3, hidden=(8,))),
       'model', 'expected a vaelib VAE with z_dim=2'),
    # vaelib.joint, vaelib.posterior, vaelib.ppca, vaelib.dependency
    _R("joint.LinearGaussianLVM", lambda t: joint.LinearGaussianLVM(s_z=0.0),
       's_z', 'a scale must'),
    _R("joint.LinearGaussianLVM", lambda t: joint.LinearGaussianLVM(sigma=-0.5),
       'sigma', 'a scale'),
    _R("joint.LinearGaussianLVM", lambda t: joint.LinearGaussianLVM(w=NAN),
       'w', 'expected finite'),
    _R("joint.LinearGaussianLVM", lambda t: joint.LinearGaussianLVM(mu_z=[0.0, 1.0]),
       'mu_z', 'expected a single number'),
    _R("joint.LinearGaussianLVM", lambda t: linear().posterior(NAN),
       'x', 'expected finite'),
    _R("joint.LinearGaussianLVM", lambda t: linear().likelihood(INF),
       'z', 'expected finite'),
    _R("joint.LinearGaussianLVM", lambda t: linear().log_joint("x", 0.0),
       'x', 'expected numbers'),
    _R("joint.LinearGaussianLVM", lambda t: linear().sample(0),
       'n', 'expected a whole number'),
    _R("joint.DecoderNet", lambda t: joint.DecoderNet(hidden=0),
       'hidden', 'expected a whole number >= 1'),
    _R("joint.NonlinearLVM", lambda t: joint.NonlinearLVM(f=3),
       'f', 'expected a callable'),
    _R("joint.NonlinearLVM", lambda t: joint.NonlinearLVM(sigma=0.0),
       'sigma', 'a scale must'),
    _R("joint.NonlinearLVM", lambda t: joint.NonlinearLVM(s_z=-1.0),
       's_z', 'a scale must'),
    _R("joint.NonlinearLVM", lambda t: joint.NonlinearLVM(mu_z=INF),
       'mu_z', 'expected finite'),
    _R("joint.NonlinearLVM", lambda t: joint.NonlinearLVM(grid=[0.0, 1.0, 3.0]),
       'grid', 'expected equally spaced'),
    _R("joint.NonlinearLVM", lambda t: joint.NonlinearLVM(grid=[0.0, 1.0]),
       'grid', 'expected at least 3 value'),
    _R("joint.NonlinearLVM", lambda t: joint.NonlinearLVM(seed=1.5),
       'seed', 'expected a whole'),
    _R("joint.NonlinearLVM", lambda t: nonlinear().posterior(NAN),
       'x', 'expected finite'),
    _R("joint.NonlinearLVM", lambda t: nonlinear().log_marginal([0.0, INF]),
       'x', 'expected finite'),
    _R("joint.NonlinearLVM", lambda t: nonlinear().sample(0),
       'n', 'expected a whole number'),
    _R("posterior.GridDensity", lambda t: nonlinear().posterior(0.3).sample(0),
       'n', 'expected a whole number'),
    _R("posterior.GridDensity", lambda t: nonlinear().posterior(0.3).log_prob(NAN),
       'z', 'expected finite'),
    _R("posterior.GridDensity", lambda t: grid_density([0.0], [0.0]),
       'grid', 'expected at least 3'),
    _R("posterior.GridDensity", lambda t: grid_density([0.0, 1.0, 2.0], [0.0, 0.0]),
       'log_density', 'expected'),
    _R("ppca.PPCA", lambda t: ppca.PPCA(torch.ones(3), torch.zeros(3), 1.0),
       'W', 'expected a 2-D'),
    _R("ppca.PPCA", lambda t: ppca.PPCA(torch.ones(3, 1), torch.zeros(2), 1.0),
       None, 'W and mu'),
    _R("ppca.PPCA", lambda t: ppca.PPCA(torch.ones(3, 1), torch.zeros(3), 0.0),
       'sigma2', 'a scale'),
    _R("ppca.PPCA", lambda t: ppca.PPCA(torch.ones(3, 1), torch.zeros(3), [1.0, 2.0]),
       'sigma2', 'expected a single number'),
    _R("ppca.PPCA", lambda t: ppca.PPCA.fit(X3[:1], 1),
       'X', 'expected at least 2 value'),
    _R("ppca.PPCA", lambda t: ppca.PPCA.fit(X3, 3),
       'q', 'expected a whole number of latent'),
    _R("ppca.PPCA", lambda t: ppca.PPCA.fit(X3, 0),
       'q', 'expected a whole number of latent'),
    _R("ppca.PPCA", lambda t: ppca.PPCA.fit(X3.clone().fill_(NAN), 1),
       'X', 'expected finite'),
    _R("ppca.PPCA", lambda t: ppca.PPCA.fit(X3[:, :1].expand(10, 3), 1),
       'X', 'covariance has rank'),
    _R("ppca.PPCA", lambda t: small_ppca().log_marginal(torch.ones(2, 4)),
       'X', 'expected shape (N, 3)'),
    _R("ppca.PPCA", lambda t: small_ppca().posterior(torch.ones(4)),
       'X', 'expected a 2-D tensor'),
    _R("ppca.PPCA", lambda t: small_ppca().likelihood(torch.ones(2, 2)),
       'z', 'expected shape (..., 1)'),
    _R("figures.aevb_figure1", lambda t: figures.aevb_figure1(ax="axes"), "ax",
       "expected a matplotlib Axes"),
    _R("dependency.dependency_matrix", lambda t: dep_matrix(distributions={}),
       'distributions', 'expected'),
    _R("dependency.dependency_matrix", lambda t: dep_matrix(params={}),
       'params', 'expected a non-empty'),
    _R("dependency.dependency_matrix", lambda t: dep_matrix(tol=-1.0),
       'tol', 'expected a number >= 0'),
    _R("dependency.dependency_matrix", lambda t: dep_matrix(points=torch.tensor(1.0)),
       'points', 'expected one or more points'),
    _R("dependency.dependency_matrix", lambda t: dep_matrix(points=torch.tensor([NAN])),
       'points', 'expected finite'),
    _R("dependency.dependency_matrix", lambda t: dep_matrix(points={"other": torch.ones(2)}),
       'points', 'expected an entry for every distribution'),
    # vaelib.elbo, gradients, per_datapoint, encoder, linear_vae
    _R("elbo._variational", lambda t: elbo._variational(0.0, 0.0),
       's', 'a scale must'),
    _R("elbo._variational", lambda t: elbo._variational(NAN, 1.0),
       'm', 'expected finite'),
    _R("elbo.reparameterised_sample", lambda t: elbo.reparameterised_sample("q"),
       'q', 'expected a torch.distributions Normal'),
    _R("elbo.reparameterised_sample", lambda t: elbo.reparameterised_sample(q0(), 0),
       'n_samples', 'expected a whole number >= 1'),
    _R("elbo.elbo", lambda t: elbo.elbo(linear(), NAN, q0()),
       'x', 'expected finite'),
    _R("elbo.elbo", lambda t: elbo.elbo(linear(), 0.0, q0(), n_samples=0),
       'n_samples', 'expected a whole number'),
    _R("elbo.elbo", lambda t: elbo.elbo(linear(), 0.0, (0.0, 1.0)),
       'q', 'expected a torch.distributions Normal'),
    _R("elbo.iwae_bound", lambda t: elbo.iwae_bound(linear(), 0.0, q0(), 0),
       'k', 'expected a whole number >= 1'),
    _R("elbo.iwae_bound", lambda t: elbo.iwae_bound(linear(), 0.0, q0(), -3),
       'k', 'expected a whole number >= 1'),
    _R("elbo.iwae_bound", lambda t: elbo.iwae_bound(linear(), 0.0, q0(), 2.0),
       'k', 'expected a whole number'),
    _R("elbo.iwae_bound", lambda t: elbo.iwae_bound(linear(), 0.0, q0(), 2, n_outer=0),
       'n_outer', 'expected a whole number'),
    _R("elbo.iwae_bound", lambda t: elbo.iwae_bound(linear(), INF, q0(), 2),
       'x', 'expected finite'),
    _R("posterior.log_joint_on_grid", lambda t: posterior.log_joint_on_grid(nonlinear(), NAN),
       'x', 'expected finite'),
    _R("posterior.log_joint_on_grid", lambda t: posterior.log_joint_on_grid(linear(), 0.0),
       'model', 'expected a model with log_joint(x, z) and a .grid'),
    _R("elbo.elbo_grid", lambda t: elbo.elbo_grid(nonlinear(), 0.0, 0.0, 0.01),
       's', 'expected s >= 2 grid steps'),
    _R("elbo.elbo_grid", lambda t: elbo.elbo_grid(nonlinear(), 0.0, 0.0, -1.0),
       's', 'a scale must be > 0'),
    _R("elbo.elbo_grid", lambda t: elbo.elbo_grid(nonlinear(), 0.0, NAN, 1.0),
       'm', 'expected finite'),
    _R("elbo.kl_to_posterior_grid", lambda t: elbo.kl_to_posterior_grid(nonlinear(), NAN, 0.0, 1.0),
       'x', 'expected a finite'),
    _R("elbo.kl_to_posterior_grid", lambda t: elbo.kl_to_posterior_grid(nonlinear(), 0.0, 0.0, 0.0),
       's', 'a scale must'),
    _R("elbo.elbo_from_log_joint",
       lambda t: elbo.elbo_from_log_joint(torch.zeros(5), torch.linspace(0, 1, 5), 0.0, -1.0),
       's', 'a scale must be > 0'),
    _R("elbo.elbo_surface", lambda t: elbo.elbo_surface(nonlinear(), NAN, torch.zeros(2), torch.ones(2)),
       'x', 'expected a finite number'),
    _R("elbo.elbo_surface", lambda t: elbo.elbo_surface(nonlinear(), 0.0, torch.zeros(2), -torch.ones(2)),
       's_values', 'a scale must be > 0'),
    _R("posterior.quadrature_grid",
       lambda t: posterior.quadrature_grid(nonlinear(), torch.zeros(1), stride=0),
       'stride', 'expected a whole number >= 1'),
    _R("posterior.quadrature_grid", lambda t: posterior.quadrature_grid(nonlinear(), torch.tensor(0.0)),
       'x', 'expected a 1-D'),
    _R("per_datapoint._initial_gaussian", lambda t: per_datapoint._initial_gaussian(nonlinear(), [NAN]),
       'x', 'expected finite'),
    _R("per_datapoint._initial_gaussian",
       lambda t: per_datapoint._initial_gaussian(nonlinear(), [0.0], starts=0),
       'starts', 'expected a whole'),
    _R("per_datapoint.optimal_gaussian",
       lambda t: per_datapoint.optimal_gaussian(nonlinear(), [0.0], max_iter=0),
       'max_iter', 'expected'),
    _R("posterior.posterior", lambda t: posterior.posterior(nonlinear(), [0.0, NAN]),
       'x', 'expected finite'),
    _R("posterior.log_marginal", lambda t: posterior.log_marginal(nonlinear(), INF),
       'x', 'expected finite'),
    _R("gradients.reparam_gradient", lambda t: gradients.reparam_gradient(SQUARE, 0.0, 0.0),
       's', 'expected a number > 0'),
    _R("gradients.reparam_gradient", lambda t: gradients.reparam_gradient(SQUARE, NAN, 1.0),
       'm', 'expected a finite'),
    _R("gradients.reparam_gradient", lambda t: gradients.reparam_gradient(SQUARE, 0.0, 1.0, n_samples=0),
       'n_samples', 'expected'),
    _R("gradients.score_function_gradient", lambda t: gradients.score_function_gradient(SQUARE, 0.0, -1.0),
       's', 'expected a number > 0'),
    _R("gradients.score_function_gradient",
       lambda t: gradients.score_function_gradient(SQUARE, 0.0, 1.0, n_samples=0),
       None, 'n_samples'),
    _R("gradients.quadratic_gradient_variances", lambda t: gradients.quadratic_gradient_variances(0.0, 0.0),
       'sigma', 'expected a number > 0'),
    _R("gradients.quadratic_gradient_variances", lambda t: gradients.quadratic_gradient_variances(INF, 1.0),
       'mu', 'expected a finite'),
    _R("per_datapoint.fit_per_datapoint", lambda t: per_datapoint.fit_per_datapoint(nonlinear(), [0.0, NAN]),
       'x', 'expected finite'),
    _R("per_datapoint.fit_per_datapoint",
       lambda t: per_datapoint.fit_per_datapoint(nonlinear(), [0.0], steps=0),
       'steps', 'expected a whole'),
    _R("per_datapoint.fit_per_datapoint",
       lambda t: per_datapoint.fit_per_datapoint(nonlinear(), [0.0], lr=-0.1),
       'lr', 'expected a number > 0'),
    _R("per_datapoint.fit_per_datapoint",
       lambda t: per_datapoint.fit_per_datapoint(nonlinear(), [0.0], s0=-1.0),
       's0', 'a scale must'),
    _R("per_datapoint.fit_per_datapoint",
       lambda t: per_datapoint.fit_per_datapoint(nonlinear(), [0.0], n_samples=0),
       'n_samples', 'expected'),
    _R("per_datapoint.optimal_gaussian", lambda t: per_datapoint.optimal_gaussian(nonlinear(), [INF]),
       'x', 'expected finite'),
    _R("per_datapoint.optimal_gaussian",
       lambda t: per_datapoint.optimal_gaussian(nonlinear(), [0.0], starts=0),
       'starts', 'expected a whole'),
    _R("encoder.ScalarEncoder", lambda t: encoder.ScalarEncoder(hidden=0),
       'hidden', 'expected a whole'),
    _R("encoder.ScalarEncoder", lambda t: encoder.ScalarEncoder(seed=-1),
       'seed', 'expected a whole'),
    _R("encoder.ScalarEncoder", lambda t: encoder.ScalarEncoder()(torch.tensor([0.0, NAN])),
       'x', 'expected finite'),
    _R("encoder.count_parameters", lambda t: encoder.count_parameters("encoder"),
       'module', 'expected'),
    _R("encoder.train_encoder", lambda t: encoder.train_encoder(nonlinear(), [[0.0]]),
       'x', 'expected a 1-D tensor'),
    _R("encoder.train_encoder", lambda t: encoder.train_encoder(nonlinear(), [0.0], steps=0),
       'steps', 'expected a whole'),
    _R("encoder.train_encoder", lambda t: encoder.train_encoder(nonlinear(), [0.0], lr=0.0),
       'lr', 'expected a number > 0'),
    _R("encoder.gaps", lambda t: encoder.gaps(nonlinear(), [NAN], encoder.ScalarEncoder()),
       'x', 'expected finite'),
    _R("encoder.gaps", lambda t: encoder.gaps(nonlinear(), [0.0], encoder.ScalarEncoder(), starts=0),
       None, 'starts'),
    _R("linear_vae.standardise", lambda t: linear_vae.standardise([[1.0, 2.0]]),
       'X', 'expected at least 2 value'),
    _R("linear_vae.standardise", lambda t: linear_vae.standardise([1.0, 2.0]),
       'X', 'expected a 2-D'),
    _R("linear_vae.standardise", lambda t: linear_vae.standardise([[1.0], [NAN]]),
       'X', 'expected finite'),
    _R("linear_vae.LinearVAE", lambda t: linear_vae.LinearVAE(0, 1),
       'd', 'expected a whole'),
    _R("linear_vae.LinearVAE", lambda t: linear_vae.LinearVAE(3, 0),
       'q', 'expected a whole'),
    _R("linear_vae.LinearVAE", lambda t: linear_vae.LinearVAE(3, 1, seed=-1),
       'seed', 'expected'),
    _R("linear_vae.LinearVAE", lambda t: linear_vae.LinearVAE(3, 1).elbo_analytic(torch.ones(2, 4)),
       'x', 'expected shape (N, 3)'),
    _R("linear_vae.LinearVAE", lambda t: linear_vae.LinearVAE(3, 1).posterior(torch.ones(3)),
       'x', 'expected a 2-D tensor'),
    _R("linear_vae.fit_linear_vae_analytic", lambda t: linear_vae.fit_linear_vae_analytic(X3, q=0),
       'q', 'expected a whole'),
    _R("linear_vae.fit_linear_vae_analytic", lambda t: linear_vae.fit_linear_vae_analytic(X3, max_iter=0),
       'max_iter', 'expected a whole'),
    _R("linear_vae.fit_linear_vae_analytic", lambda t: linear_vae.fit_linear_vae_analytic(X3[0]),
       'X', 'expected a 2-D tensor'),
    _R("linear_vae.fit_linear_vae_sampled", lambda t: linear_vae.fit_linear_vae_sampled(X3, steps=0),
       'steps', 'expected a whole'),
    _R("linear_vae.fit_linear_vae_sampled", lambda t: linear_vae.fit_linear_vae_sampled(X3, batch_size=0),
       'batch_size', 'expected a whole'),
    _R("linear_vae.fit_linear_vae_sampled", lambda t: linear_vae.fit_linear_vae_sampled(X3, lr=-1.0),
       'lr', 'expected a number > 0'),
    _R("linear_vae.fit_linear_vae_sampled", lambda t: linear_vae.fit_linear_vae_sampled(X3, n_samples=0),
       'n_samples', 'expected a whole'),
    # vaelib.vae, train, example_vae
    _R("posterior.model_grid", lambda t: posterior.model_grid(linear()), "model",
       "expected a model with log_joint(x, z) and a .grid"),
    _R("elbo._elbo_terms", lambda t: elbo._elbo_terms(linear(), 0.0, "q", torch.zeros(1)), "q",
       "expected a torch.distributions Normal"),
    _R("elbo.kl_from_log_posterior",
       lambda t: elbo.kl_from_log_posterior(torch.zeros(5), torch.linspace(0, 1, 5), 0.0, 0.0), "s",
       "a scale must be > 0"),
    _R("encoder.widths", lambda t: encoder.widths("wide"), "hidden", "expected a tuple of layer widths"),
    _R("encoder.widths", lambda t: encoder.widths((16, 0)), "hidden", "expected a whole number >= 1"),
    _R("vae.Decoder", lambda t: vae.Decoder(z_dim=0), "z_dim", "expected a whole number >= 1"),
    _R("encoder.mlp", lambda t: encoder.mlp((3, 2), activation="swish"),
       'activation', 'expected one of'),
    _R("encoder.mlp", lambda t: encoder.mlp((3, 2), dropout=1.0),
       'dropout', 'expected a number in [0, 1)'),
    _R("encoder.mlp", lambda t: encoder.mlp((3, -2)),
       None, 'sizes'),
    _R("encoder.GaussianEncoder", lambda t: encoder.GaussianEncoder(x_dim=0),
       'x_dim', 'expected a whole'),
    _R("encoder.GaussianEncoder", lambda t: encoder.GaussianEncoder(hidden="big"),
       'hidden', 'expected a tuple of layer widths'),
    _R("encoder.GaussianEncoder", lambda t: encoder.GaussianEncoder(hidden=(0,)),
       'hidden', 'expected'),
    _R("vae.BernoulliDecoder", lambda t: vae.BernoulliDecoder(z_dim=0),
       'z_dim', 'expected a whole'),
    _R("vae.GaussianDecoder", lambda t: vae.GaussianDecoder(x_dim=-1),
       'x_dim', 'expected a whole'),
    _R("vae.CategoricalDecoder", lambda t: vae.CategoricalDecoder(hidden=(2.5,)),
       'hidden', 'expected'),
    _R("vae.CategoricalDecoder", lambda t: vae.CategoricalDecoder(levels_rank=0),
       'levels_rank', 'expected a whole number >= 1'),
    _R("vae.LevelBasis", lambda t: vae.LevelBasis(64, rank=2.5),
       'rank', 'expected a whole'),
    _R("vae.LevelBasis", lambda t: vae.LevelBasis(0, rank=2),
       'x_dim', 'expected a whole'),
    _R("vae.VAE", lambda t: vae.VAE("encoder", vae.BernoulliDecoder()),
       'encoder', 'expected a GaussianEncoder'),
    _R("vae.VAE", lambda t: vae.VAE(encoder.GaussianEncoder(), "decoder"),
       'decoder', 'expected one of'),
    _R("vae.VAE", lambda t: vae.VAE(encoder.GaussianEncoder(z_dim=2), vae.BernoulliDecoder(z_dim=3)),
       'decoder', 'expected z_dim=2'),
    _R("vae.VAE", lambda t: small_vae().elbo(torch.zeros(4, 63)),
       'x', 'expected shape (N, 64)'),
    _R("vae.VAE", lambda t: small_vae().elbo(torch.zeros(64)),
       'x', 'expected a 2-D tensor'),
    _R("vae.VAE", lambda t: small_vae().elbo(torch.zeros(0, 64)),
       'x', 'expected at least 1'),
    _R("vae.VAE", lambda t: small_vae().elbo(DIGITS.clone().fill_(NAN)),
       'x', 'expected finite'),
    _R("vae.VAE", lambda t: small_vae().elbo(DIGITS, eps=torch.zeros(4, 3)),
       'eps', 'expected shape (4, 2)'),
    _R("vae.VAE", lambda t: small_vae().log_marginal(DIGITS, K=0),
       'K', 'expected a whole number'),
    _R("vae.VAE", lambda t: small_vae().log_marginal(DIGITS, max_rows=0),
       'max_rows', 'expected'),
    _R("vae.VAE", lambda t: small_vae().test_elbo(DIGITS, samples=0),
       'samples', 'expected'),
    _R("threads", lambda t: vaelib.threads(0).__enter__(),
       'threads', 'expected a whole number >= 1'),
    _R("threads", lambda t: vaelib.threads(1.5).__enter__(),
       'threads', 'expected a whole number'),
    _R("vae.make_vae", lambda t: vae.make_vae("poisson"),
       'decoder', 'expected one of'),
    _R("vae.make_vae", lambda t: vae.make_vae(z_dim=0),
       'z_dim', 'expected a whole'),
    _R("vae.make_vae", lambda t: vae.make_vae(seed=-1),
       'seed', 'expected a whole number >= 0'),
    _R("vae.make_vae", lambda t: vae.make_vae("bernoulli", levels_rank=4),
       'levels_rank', 'only the categorical decoder'),
    _R("train.train", lambda t: train.train("model", DIGITS),
       'model', 'expected a vaelib.vae.VAE'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, epochs=0),
       'epochs', 'expected'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, batch_size=0),
       None, 'batch_size'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, lr=0.0),
       'lr', 'expected a number > 0'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, optimizer="rmsprop"),
       'optimizer', "expected a torch.optim class"),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, seed=-1),
       'seed', 'expected a whole number >= 0'),
    _R("train.train", lambda t: train.train(small_vae(), torch.zeros(0, 64)),
       'x', 'expected at least'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, kl_warmup=-1),
       'kl_warmup', 'expected a whole number >= 0'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, kl_warmup=2.0),
       'kl_warmup', 'expected'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, x_val=DIGITS[:, :8]),
       'x', 'expected'),
    _R("train.save_weights", lambda t: train.save_weights("model", t / "w.pt"),
       'model', 'expected'),
    _R("train.course_model", lambda t: train.course_model(z_dim=0),
       'z_dim', 'expected a whole'),
    _R("example_vae.ExampleVAE", lambda t: example_vae.ExampleVAE(hidden=0),
       'hidden', 'expected a whole'),
    _R("example_vae.ExampleVAE", lambda t: example_vae.ExampleVAE(z_dim=-2),
       'z_dim', 'expected a whole'),
    _R("example_vae.vae_from_example", lambda t: example_vae.vae_from_example(small_vae()),
       'example', 'expected an ExampleVAE'),
    # lesson 04: vaelib.em, dependency.function_dependencies, the θ-and-φ dashboard (l04_theta_phi)
    _R("em.fisher_gradient", lambda t: em.fisher_gradient(
        nonlinear(), [0.0, NAN], nonlinear().grid), 'x', 'expected finite'),
    _R("em.fisher_gradient", lambda t: em.fisher_gradient(
        nonlinear(), [0.0], torch.tensor([0.0, 1.0, 3.0])), 'grid', 'expected equally spaced'),
    _R("em.fisher_gradient", lambda t: em.fisher_gradient(
        linear(), [0.0], nonlinear().grid), 'model', 'expected a vaelib.joint.NonlinearLVM'),
    _R("em.exact_em", lambda t: em.exact_em(
        nonlinear(), [0.0], iterations=0), 'iterations', 'expected a whole number >= 1'),
    _R("em.exact_em", lambda t: em.exact_em(nonlinear(), [[0.0]]),
       'x', 'expected a 1-D tensor'),
    _R("em.exact_em", lambda t: em.exact_em(linear(), [0.0]),
       'model', 'expected a vaelib.joint.NonlinearLVM'),
    _R("em.variational_em", lambda t: em.variational_em(
        nonlinear(), [0.0], m_iter=0), 'm_iter', 'expected a whole number >= 1'),
    _R("em.variational_em", lambda t: em.variational_em(
        nonlinear(), [INF]), 'x', 'expected finite'),
    _R("em.amortized", lambda t: em.amortized(
        nonlinear(), [0.0], steps_per_iteration=0), 'steps_per_iteration', 'expected a whole number >= 1'),
    _R("em.amortized", lambda t: em.amortized(
        nonlinear(), [0.0], iterations=1, lr=-1.0), 'lr', 'expected a number > 0'),
    _R("em.em_vs_vae", lambda t: em.em_vs_vae([0.0], seed=-1),
       'seed', 'expected a whole number >= 0'),
    _R("em.em_vs_vae", lambda t: em.em_vs_vae([0.0], iterations=0),
       'iterations', 'expected a whole number >= 1'),
    _R("dependency.function_dependencies", lambda t: dependency.function_dependencies(
        {"f": 3.0}, linear().parameters(), torch.tensor([0.3])), 'functions', 'expected a non-empty dict'),
    _R("dependency.function_dependencies", lambda t: dependency.function_dependencies(
        {"f": lambda x: x}, {}, torch.tensor([0.3])), 'params', 'expected a non-empty dict'),
    _R("dependency.function_dependencies", lambda t: dependency.function_dependencies(
        {"f": lambda x: x}, linear().parameters(), torch.tensor([NAN])), 'points', 'expected finite'),
    _R("dependency.linear_vae_dependencies", lambda t: dependency.linear_vae_dependencies(
        linear_vae.LinearVAE(1, 1), NAN, 0.3, torch.tensor([[0.4]])), 'x0', 'expected a finite number'),
    _R("dashboards.common.SplitBar", lambda t: common.SplitBar(Figure().subplots(), NAN),
       'floor', 'expected a finite number'),
    _R("dashboards.common.SplitBar", lambda t: common.SplitBar(Figure().subplots(), 0.0, width=-1.0),
       'width', 'expected a number > 0'),
    _R("dashboards.l04_theta_phi.dashboard", lambda t: l04_theta_phi.dashboard(x=[1.0]),
       'x', 'expected at least 2'),
    _R("dashboards.l04_theta_phi.dashboard", lambda t: l04_theta_phi.dashboard(x=[1.0, NAN]),
       'x', 'expected finite'),
    _R("linear_vae.ml_theta_1d", lambda t: linear_vae.ml_theta_1d(torch.ones(5), 1.0, 0.0),
       'sigma', 'expected a number'),
    _R("linear_vae.ml_theta_1d", lambda t: linear_vae.ml_theta_1d(torch.ones(5), NAN, 1.0),
       'w', 'expected a finite'),
    _R("dashboards.l04_theta_phi.dependencies", lambda t: l04_theta_phi.dependencies(x0=INF),
       'x0', 'expected a finite'),
    _R("linear_vae.LinearVAE", lambda t: linear_vae.LinearVAE(1, 1).assign(sigma=1.0),
       'sigma', 'expected one of the parameters'),
    # lessons 05-06: snapshots, a floor on σ, decoders given as classes, the σ choices, the priors,
    # θ as a random variable, the training explorer (modules imported by name: rows only here)
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, snapshots=1),
       'snapshots', 'expected 0 (none) or a whole number >= 2'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, snapshots=-3),
       'snapshots', 'expected a whole number >= 0'),
    _R("train.train", lambda t: train.train(small_vae(), DIGITS, epochs=2, batch_size=4, snapshots=4),
       'snapshots', 'expected at most 3 (one per step and the start)'),
    _R("vae.GaussianDecoder", lambda t: vae.GaussianDecoder(min_scale=-0.1),
       'min_scale', 'expected a number >= 0'),
    _R("vae.make_vae", lambda t: vae.make_vae(torch.nn.Linear),
       'decoder', 'expected one of'),
    _R("noise.FixedNoiseDecoder", lambda t: noise.FixedNoiseDecoder(
        sigma=0.0), 'sigma', 'expected a number > 0'),
    _R("noise.SharedNoiseDecoder", lambda t: noise.SharedNoiseDecoder(
        sigma=NAN), 'sigma', 'expected a finite number'),
    _R("noise.likelihood_ceiling", lambda t: noise.likelihood_ceiling(0.0),
       'min_scale', 'expected a number > 0'),
    _R("noise.likelihood_ceiling", lambda t: noise.likelihood_ceiling(
        0.1, x_dim=0), 'x_dim', 'expected a whole number >= 1'),
    _R("priors.GaussianPriorVAE", lambda t: priors.GaussianPriorVAE(
        small_vae().encoder, small_vae().decoder, scale=[1.0, -1.0]), 'scale', 'a scale must be > 0'),
    _R("priors.GaussianPriorVAE", lambda t: priors.GaussianPriorVAE(
        small_vae().encoder, small_vae().decoder, mean=[0.0, 0.0, 0.0]), 'mean', 'expected mean and scale'),
    _R("priors.GaussianPriorVAE", lambda t: priors.GaussianPriorVAE(
        "encoder", small_vae().decoder), 'encoder', 'expected a GaussianEncoder'),
    _R("priors.absorb_prior", lambda t: priors.absorb_prior(small_vae()),
       'model', 'expected a priors.GaussianPriorVAE'),
    _R("priors.MixturePriorVAE", lambda t: priors.MixturePriorVAE(
        small_vae().encoder, small_vae().decoder, components=0), 'components', 'expected a whole number'),
    _R("priors.MixturePriorVAE", lambda t: priors.MixturePriorVAE(
        small_vae().encoder, small_vae().decoder, seed=-1), 'seed', 'expected a whole number >= 0'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([[1.0, 2.0]]),
       'x', 'expected a 1-D tensor'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([1.0, NAN]),
       'x', 'expected finite'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([1.0], alpha=0.0),
       'alpha', 'expected a number > 0'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([1.0], sigma=-1.0),
       'sigma', 'expected a number > 0'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([1.0], grid=[0.0, 1.0]),
       'grid', 'expected at least 3'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([1.0]).bound(n_samples=0),
       'n_samples', 'expected a whole number >= 1'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([1.0]).fit(seed=-2),
       'seed', 'expected a whole number >= 0'),
    _R("full_vb.FullVB", lambda t: full_vb.FullVB([1.0]).model(
        "w"), 'w', 'expected numbers'),
    _R("dashboards.l05_vae.training_dashboard", lambda t: l05_vae.training_dashboard(model=small_vae()),
       'snapshots', 'give both'),
    _R("dashboards.l05_vae.training_dashboard", lambda t: l05_vae.training_dashboard(
        model="model", snapshots=[(0, {}), (1, {})]), 'model', 'expected a vaelib VAE with z_dim=2'),
    _R("dashboards.l05_vae.training_dashboard", lambda t: l05_vae.training_dashboard(
        model=small_vae(), snapshots=[(0, {})]), 'snapshots', 'expected the (step, state_dict) pairs'),
]


class Recovers(NamedTuple):
    target: str
    call: Callable  # call(tmp_path) -> result
    expected: object
    says: str  # a fragment of what it prints


def _load(t: Path, content: bytes | None, name: str = "w.pt"):
    path = t / name
    if content is not None:
        path.write_bytes(content)
    return train.load_weights(small_vae(), path)


def _other_model_file(t: Path) -> bytes:
    path = train.save_weights(vae.make_vae(z_dim=3, hidden=(8,)), t / "other.pt")
    return path.read_bytes()


# A missing or corrupt cache file is not an error: load_weights says why and returns False.
RECOVERS = [
    Recovers("vaelib.train.load_weights", lambda t: _load(t, None), False, "No cached weights"),
    Recovers("vaelib.train.load_weights", lambda t: _load(t, b""), False, "could not be read"),
    Recovers("vaelib.train.load_weights", lambda t: _load(t, b"\x80\x04garbage"), False,
             "could not be read"),
    Recovers("vaelib.train.load_weights", lambda t: _load(t, _other_model_file(t)[:200]), False,
             "could not be read"),
    Recovers("vaelib.train.load_weights", lambda t: _load(t, _other_model_file(t)), False,
             "could not be read"),
]

# Public callables without a bad-input row, and why. (A callable that takes no arguments at all,
# e.g. vaelib.device or a dashboard factory, cannot be given bad input: those are exempt by rule.)
EXEMPT = {
    "vaelib.alt_text.describe": "the figure's own alt text, called with the displayed Figure",
    "vaelib.alt_text.install": "called by figures.use_course_style with IPython's shell",
    "vaelib.alt_text._plain": "called with a figure's own labels",
    "vaelib.png.png": "Dashboard's internal PNG encoder; its argument is the Dashboard's own "
                          "matplotlib Figure, never user data",
    "vaelib.dashboards.common.normal_pdf": "a dashboard's drawing helper, called only with the "
                                           "dashboard's own arrays",
    "vaelib.dashboards.common.positions": "a dashboard's helper, called only with its own slider "
                                          "constants",
    "vaelib.dashboards.common.position_index": "a dashboard's helper, called with its own slider's "
                                               "value",
    "vaelib.dashboards.common.depth_levels": "a dashboard's helper, called with its own surface",
    "vaelib.dependency.DependencyMatrix": "the result container dependency_matrix returns (a dict "
                                   "subclass); dependency_matrix's inputs are tested",
    "vaelib.example_vae.example_loss": "a verbatim copy of the PyTorch example's loss_function, kept "
                               "in the example's style for the side-by-side; torch's own BCE "
                               "rejects values outside [0, 1]",
}


def _row_id(row) -> str:
    return f"{row.target.removeprefix('vaelib.')}: {row.argument}: {row.expects}"


@pytest.mark.parametrize("row", BAD_INPUTS, ids=[_row_id(r) for r in BAD_INPUTS])
def test_bad_input_raises_a_clear_error(row, tmp_path):
    with pytest.raises(row.error) as caught:
        row.call(tmp_path)
    message = str(caught.value)
    if row.argument is not None:
        assert message.startswith(f"{row.argument}:"), f"message does not name {row.argument}: {message}"
    assert row.expects in message, f"message was: {message}"


@pytest.mark.parametrize("row", RECOVERS, ids=[f"{r.target}: {r.says}" for r in RECOVERS])
def test_bad_cache_file_means_train_again(row, tmp_path, capsys):
    assert row.call(tmp_path) == row.expected
    assert row.says in capsys.readouterr().out


def takes_arguments(obj) -> bool:
    """False for a function (or class) whose signature has no parameters at all."""
    try:
        return bool(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return True


def public_callables() -> set[str]:
    """'module.name' for every function and class defined in a vaelib module, not starting with _,
    that takes at least one argument."""
    modules = [vaelib] + [importlib.import_module(m.name)
                          for m in pkgutil.walk_packages(vaelib.__path__, "vaelib.")]
    found = set()
    for module in modules:
        for name, obj in vars(module).items():
            if (not name.startswith("_") and callable(obj)
                    and getattr(obj, "__module__", None) == module.__name__
                    and (inspect.isfunction(obj) or inspect.isclass(obj))
                    and takes_arguments(obj)):
                found.add(f"{module.__name__}.{name}")
    return found


def test_every_public_callable_is_in_the_table(summary):
    public = public_callables()
    covered = {r.target for r in BAD_INPUTS} | {r.target for r in RECOVERS}
    missing = sorted(public - covered - set(EXEMPT))
    assert not missing, ("public vaelib callables with no bad-input row (add rows or an "
                         f"exemption with a reason): {missing}")
    stale = sorted((covered | set(EXEMPT)) - public)
    assert not stale, f"rows or exemptions naming callables that no longer exist: {stale}"
    summary(f"bad inputs tried: {len(BAD_INPUTS)} raising + {len(RECOVERS)} recovering, over "
            f"{len(covered)} public callables ({len(EXEMPT)} exempt)")


def test_the_coverage_check_would_notice_a_new_function(monkeypatch):
    def brand_new_formula(x):
        return x

    brand_new_formula.__module__ = "vaelib.gaussian"
    monkeypatch.setattr(gaussian, "brand_new_formula", brand_new_formula, raising=False)
    assert "vaelib.gaussian.brand_new_formula" in public_callables()
    assert "vaelib.validate.math" not in public_callables()  # imported modules are not counted
    assert "vaelib.vae.Path" not in public_callables()  # nor names imported from elsewhere
    assert "vaelib.device" not in public_callables()  # nor what takes no arguments
    assert "vaelib.gaussian.mle" in public_callables()
