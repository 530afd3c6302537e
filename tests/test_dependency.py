"""vaelib.dependency: which components of θ each distribution reads, by autograd. (Against finite
differences, and the network model's matrix: lesson 02's checks; lesson 04's θ-and-φ matrix:
further/04a's.)"""

import mistune
import torch

from vaelib import joint
from vaelib.dependency import dependency_matrix
from vaelib.ppca import PPCA

THETA = dict(mu_z=0.7, s_z=1.3, w=-1.6, b=0.4, sigma=0.3)


def linear_distributions(m, z0=0.3, x0=1.1):
    z0, x0 = torch.tensor(z0), torch.tensor(x0)
    return {"prior": m.prior, "likelihood": lambda: m.likelihood(z0),
            "marginal": m.marginal, "posterior": lambda: m.posterior(x0)}


POINTS = torch.tensor([-1.3, 0.4, 2.1])


def test_dependency_matrix_of_the_linear_model():
    m = joint.LinearGaussianLVM(**THETA)
    dm = dependency_matrix(linear_distributions(m), m.parameters(), POINTS)
    assert dm.reads("prior") == ["mu_z", "s_z"]
    assert dm.reads("likelihood") == ["w", "b", "sigma"]
    assert dm.reads("marginal") == dm.reads("posterior") == ["mu_z", "s_z", "w", "b", "sigma"]
    assert dm.moves("w") == ["likelihood", "marginal", "posterior"]
    assert dm.moves("mu_z") == ["prior", "marginal", "posterior"]
    # the components were plain floats: switched on for the computation, then off again
    assert not any(p.requires_grad for p in m.parameters().values())


def test_the_matrix_is_local_to_one_theta_at_w_0_the_data_say_nothing_about_z():
    """At w = 0, x ignores z: p_θ(x) = N(wμ_z + b, w²s_z² + σ²) no longer reads μ_z or s_z (their
    gradients carry a factor w), the posterior is the prior (it reads μ_z and s_z, and w through its
    mean, but not b or σ), and the observed x moves nothing; at any other w the marginal and the
    posterior read all of θ (test above)."""
    m = joint.LinearGaussianLVM(mu_z=0.7, s_z=1.3, w=0.0, b=0.4, sigma=0.3)
    x0 = torch.tensor(1.1)
    dists = {**linear_distributions(m), "posterior": lambda: m.posterior(x0)}
    dm = dependency_matrix(dists, {**m.parameters(), "x": x0}, POINTS)
    assert dm.reads("marginal") == ["w", "b", "sigma"] and dm.reads("posterior") == ["mu_z", "s_z", "w"]
    assert dm.reads("likelihood") == ["w", "b", "sigma"]  # x|z ~ N(wz + b, σ²) still reads w
    assert dm.moves("x") == [] and dm.moves("mu_z") == ["prior", "posterior"]


def test_dependency_is_per_point_so_symmetric_points_cannot_cancel():
    m = joint.LinearGaussianLVM(0.0, 1.0, 1.0, 0.0, 1.0)
    # summed over ±1.5 the μ_z-gradients (t - μ_z)/s_z² cancel; one point at a time they do not
    dm = dependency_matrix({"prior": m.prior}, m.parameters(), torch.tensor([-1.5, 1.5]))
    assert dm.reads("prior") == ["mu_z", "s_z"]
    # a single unlucky point can hide a dependence: ∂/∂s_z log N(t; 0, s_z²) = 0 at |t| = s_z,
    # which is why the matrix is read at several points in general position
    one = dependency_matrix({"prior": m.prior}, m.parameters(), torch.tensor([1.0]))
    assert one.reads("prior") == ["mu_z"]


def test_dependency_matrix_of_the_nonlinear_model_and_its_table():
    nl = joint.NonlinearLVM()
    dists = {"prior": nl.prior, "likelihood": lambda: nl.likelihood(torch.tensor(0.3)),
             "marginal": nl.marginal, "posterior": lambda: nl.posterior(torch.tensor(1.0))}
    dm = dependency_matrix(dists, nl.parameters(), POINTS)
    assert dm.reads("prior") == ["mu_z", "s_z"]
    assert dm.reads("likelihood") == ["W1", "b1", "W2", "b2", "sigma"]
    assert dm.reads("marginal") == dm.reads("posterior") == list(nl.parameters())
    table = dm.to_markdown()
    assert table.splitlines()[0] == "| | W1 | b1 | W2 | b2 | sigma | mu_z | s_z |"
    assert table.splitlines()[2] == "| prior | · | · | · | · | · | ✓ | ✓ |"
    assert nl.f.W1.requires_grad  # the network's own parameters are left as they were


def test_a_bar_in_a_distribution_name_does_not_break_the_markdown_table():
    """p_θ(x|z) holds a "|": written bare it ends the cell, and nbconvert's renderer (mistune)
    then shows no table at all; escaped, every row has its label and one cell per component."""
    m = joint.LinearGaussianLVM(**THETA)
    names = ("prior p_θ(z)", "likelihood p_θ(x|z)", "marginal p_θ(x)", "posterior p_θ(z|x)")
    named = dict(zip(names, linear_distributions(m).values(), strict=True))
    html = mistune.create_markdown(plugins=["table"])(
        dependency_matrix(named, m.parameters(), POINTS).to_markdown())
    rows = html.split("<tr>")[1:]
    assert html.lstrip().startswith("<table>") and len(rows) == 1 + len(named)
    assert all(row.count("<td") == 1 + len(m.parameters()) for row in rows[1:])
    assert "<td>likelihood p_θ(x|z)</td>" in rows[2] and rows[2].count("✓") == 3


def test_dependency_matrix_takes_points_per_distribution():
    g = torch.Generator().manual_seed(8)
    m = PPCA.fit(torch.randn(50, 3, generator=g, dtype=torch.float64), 1)
    W = m.W.clone()
    params = {"W": m.W, "mu": m.mu, "sigma2": m.sigma2}
    dists = {"prior": m.prior, "marginal": m.marginal}
    points = {"prior": torch.zeros(2, 1, dtype=torch.float64) + 0.5,
              "marginal": torch.randn(2, 3, generator=g, dtype=torch.float64)}
    dm = dependency_matrix(dists, params, points)
    assert dm.reads("prior") == [] and dm.reads("marginal") == ["W", "mu", "sigma2"]
    assert torch.equal(m.W, W) and not m.W.requires_grad
