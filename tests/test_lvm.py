"""vaelib.lvm against independent computations: quadrature written here with torch.trapezoid,
Monte Carlo, direct Gaussian conditioning, torch.distributions and scikit-learn."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from vaelib import data
from vaelib.lvm import (
    MLP,
    PPCA,
    GridPosterior,
    LinearGaussianLVM,
    NonlinearLVM,
    dependency_matrix,
)

THETAS = [dict(mu_z=0.0, s_z=1.0, w=1.0, b=0.0, sigma=0.5),
          dict(mu_z=0.7, s_z=1.3, w=-1.6, b=0.4, sigma=0.3),
          dict(mu_z=-1.2, s_z=0.5, w=0.2, b=-2.0, sigma=1.5)]
Z = torch.linspace(-30, 30, 60001, dtype=torch.float64)  # fine grid for the tests' own quadrature


def model64(theta):
    return LinearGaussianLVM(**{k: torch.tensor(v, dtype=torch.float64) for k, v in theta.items()})


# ---------------------------------------------------------------------------- linear-Gaussian

def test_prior_and_likelihood_are_torch_normals_with_the_hand_written_densities():
    m = LinearGaussianLVM(0.5, 2.0, 1.5, -1.0, 0.8)
    z = torch.tensor([-1.0, 0.0, 2.5])
    assert isinstance(m.prior(), Normal) and isinstance(m.likelihood(z), Normal)
    prior_by_hand = -0.5 * math.log(2 * math.pi) - math.log(2.0) - (z - 0.5) ** 2 / (2 * 4.0)
    torch.testing.assert_close(m.prior().log_prob(z), prior_by_hand)
    x = torch.tensor(0.3)
    lik_by_hand = (-0.5 * math.log(2 * math.pi) - math.log(0.8)
                   - (x - (1.5 * z - 1.0)) ** 2 / (2 * 0.64))
    torch.testing.assert_close(m.likelihood(z).log_prob(x), lik_by_hand)
    assert m.likelihood(z).batch_shape == (3,)


@pytest.mark.parametrize("theta", THETAS)
def test_marginal_equals_the_integral_of_the_joint_over_z(theta):
    m = model64(theta)
    x = torch.tensor([-3.0, -0.5, 0.0, 1.0, 4.0], dtype=torch.float64)
    joint = m.log_joint(x.unsqueeze(-1), Z).exp()  # (5, G)
    by_quadrature = torch.trapezoid(joint, Z, dim=-1)
    torch.testing.assert_close(m.marginal().log_prob(x).exp(), by_quadrature, rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("theta", THETAS)
def test_marginal_matches_monte_carlo_moments(theta):
    m = model64(theta)
    _, x = m.sample(200_000, torch.Generator().manual_seed(1))
    p = m.marginal()
    se_mean = p.scale.item() / math.sqrt(len(x))
    assert abs(x.mean().item() - p.mean.item()) < 5 * se_mean
    assert abs(x.std().item() / p.scale.item() - 1) < 0.01


@pytest.mark.parametrize("theta", THETAS)
def test_posterior_is_joint_over_marginal_by_quadrature(theta):
    m = model64(theta)
    x = torch.tensor(1.3, dtype=torch.float64)
    joint = m.log_joint(x, Z).exp()
    bayes = joint / torch.trapezoid(joint, Z)
    q = m.posterior(x)
    torch.testing.assert_close(q.log_prob(Z).exp(), bayes, rtol=1e-8, atol=1e-12)
    mean = torch.trapezoid(Z * bayes, Z)
    var = torch.trapezoid((Z - mean) ** 2 * bayes, Z)
    torch.testing.assert_close(q.mean, mean)
    torch.testing.assert_close(q.variance, var)


@pytest.mark.parametrize("theta", THETAS)
def test_posterior_mean_matches_self_normalised_importance_sampling(theta):
    m = model64(theta)
    x = torch.tensor(0.8, dtype=torch.float64)
    z, _ = m.sample(400_000, torch.Generator().manual_seed(2))  # z from the prior
    weights = torch.softmax(m.likelihood(z).log_prob(x), 0)
    estimate = (weights * z).sum()
    q = m.posterior(x)
    ess = 1 / (weights ** 2).sum()
    assert abs(estimate - q.mean) < 5 * q.stddev / ess.sqrt() + 1e-3


def test_bayes_rule_holds_at_arbitrary_points():
    m = model64(THETAS[1])
    x = torch.tensor([[-2.0], [0.1], [3.0]], dtype=torch.float64)
    z = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    lhs = m.posterior(x).log_prob(z)  # (3, 4)
    rhs = m.log_joint(x, z) - m.marginal().log_prob(x)
    assert lhs.shape == (3, 4)
    torch.testing.assert_close(lhs, rhs)


def test_gradients_flow_to_the_components_given():
    theta = {k: torch.tensor(v, requires_grad=True) for k, v in THETAS[1].items()}
    m = LinearGaussianLVM(**theta)
    assert m.parameters()["w"] is theta["w"]
    m.marginal().log_prob(torch.tensor(0.5)).backward()
    # d/db log N(x; w μ_z + b, v) = (x - mean) / v
    mean = 0.7 * -1.6 + 0.4
    v = 1.6 ** 2 * 1.3 ** 2 + 0.3 ** 2
    assert theta["b"].grad.item() == pytest.approx((0.5 - mean) / v, rel=1e-5)


def test_float_components_become_tensors_of_one_dtype():
    m = LinearGaussianLVM(1, 2.0, torch.tensor(0.5, dtype=torch.float64), 0.0, 1.0)
    assert all(t.dtype == torch.float64 and t.dim() == 0 for t in m.parameters().values())
    assert list(m.parameters()) == ["mu_z", "s_z", "w", "b", "sigma"]


def test_sampling_is_reproducible():
    m = LinearGaussianLVM()
    a = m.sample(5, torch.Generator().manual_seed(3))
    b = m.sample(5, torch.Generator().manual_seed(3))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


# ---------------------------------------------------------------------------- nonlinear model

LINEAR_CASES = [(0.0, 1.0, 1.0, 0.0, 0.5), (0.5, 1.5, -2.0, 1.0, 0.3), (-1.0, 0.7, 0.3, -0.5, 1.2),
                (0.0, 1.0, 3.0, 0.0, 0.06)]  # the last: posterior std 0.02 = 2 dz


@pytest.mark.parametrize("mu_z, s_z, w, b, sigma", LINEAR_CASES)
def test_quadrature_with_a_linear_f_matches_the_closed_form(mu_z, s_z, w, b, sigma):
    nl = NonlinearLVM(f=lambda z: w * z + b, sigma=sigma, mu_z=mu_z, s_z=s_z)
    assert nl.grid.shape == (2001,) and nl.dz == pytest.approx(s_z / 100)
    lin = model64(dict(mu_z=mu_z, s_z=s_z, w=w, b=b, sigma=sigma))
    x = torch.linspace(-4, 4, 17, dtype=torch.float64)
    # The error stated in the docstring: < 1e-10 on log p_θ(x) while the posterior std >= 2 dz.
    assert (nl.log_marginal(x) - lin.marginal().log_prob(x)).abs().max() < 1e-10
    post, exact = nl.posterior(x), lin.posterior(x)
    torch.testing.assert_close(post.density, exact.log_prob(nl.grid.unsqueeze(-1)).exp().T,
                               rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(post.mean, exact.mean, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(post.std, exact.stddev, rtol=1e-6, atol=1e-10)


def test_grid_posterior_samples_match_its_moments_and_a_batch_matches_single_x():
    nl = NonlinearLVM()
    for x in [-2.0, 0.0, 1.0, 2.5]:
        p = nl.posterior(torch.tensor(x))
        assert p.density.shape == nl.grid.shape
        s = p.sample(100_000, torch.Generator().manual_seed(4))
        assert abs(s.mean() - p.mean) < 5 * p.std / math.sqrt(len(s))
        assert abs(s.std() / p.std - 1) < 0.02
    batch = nl.posterior(torch.tensor([0.0, 1.0, 2.0]))
    torch.testing.assert_close(batch.mean[1], nl.posterior(torch.tensor(1.0)).mean)
    assert batch.sample(7).shape == (7, 3)


def test_marginal_by_quadrature_integrates_to_one_over_x():
    nl = NonlinearLVM()
    x = torch.linspace(-15, 15, 3001, dtype=torch.float64)
    with torch.no_grad():
        total = torch.trapezoid(nl.log_marginal(x).exp(), x)
    assert abs(total.item() - 1) < 1e-8


def test_grid_posterior_interpolation_agrees_on_the_grid():
    nl = NonlinearLVM()
    x = torch.tensor(1.0, dtype=torch.float64)
    p = nl.posterior(x)
    z = torch.tensor([-1.234, 0.0, 0.777, 2.5], dtype=torch.float64)
    interpolated = GridPosterior(p.grid, p.log_density)
    torch.testing.assert_close(interpolated.log_prob(p.grid[::97]), p.log_density[::97])
    torch.testing.assert_close(interpolated.log_prob(z), p.log_prob(z), rtol=1e-3, atol=1e-3)
    assert interpolated.log_prob(torch.tensor(50.0)) == -math.inf


def count_modes(density: torch.Tensor, floor: float = 0.1) -> int:
    d = density / density.max()
    peak = (d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:]) & (d[1:-1] > floor)
    return int(peak.sum())


def test_default_decoder_gives_a_multimodal_posterior_for_some_x():
    nl = NonlinearLVM()
    with torch.no_grad():
        modes = [count_modes(nl.posterior(torch.tensor(x)).density) for x in (0.5, 1.0, 1.5)]
        assert max(modes) >= 2
        # ...and a linear decoder never does.
        lin = NonlinearLVM(f=lambda z: 2 * z)
        assert all(count_modes(lin.posterior(torch.tensor(x)).density) == 1 for x in (0.5, 1.0))


def test_log_joint_broadcasts_x_against_the_grid():
    nl = NonlinearLVM()
    x = torch.tensor([[0.0], [1.0], [2.0]])
    lj = nl.log_joint(x, nl.grid)
    assert lj.shape == (3, 2001) and lj.dtype == torch.float64
    torch.testing.assert_close(lj[1, 5], nl.prior().log_prob(nl.grid[5])
                               + Normal(nl.f(nl.grid[5]), 0.5).log_prob(torch.tensor(1.0)))


def test_mlp_is_seeded_and_its_output_varies_with_z():
    a, b, c = MLP(16, seed=0), MLP(16, seed=0), MLP(16, seed=1)
    z = torch.linspace(-2, 2, 5)
    torch.testing.assert_close(a(z), b(z))
    assert not torch.allclose(a(z), c(z))
    assert a(z).shape == (5,) and a(torch.zeros(2, 3)).shape == (2, 3)
    by_hand = torch.tanh(z.double()[:, None] * a.W1 + a.b1) @ a.W2 + a.b2
    torch.testing.assert_close(a(z), by_hand)


def test_nonlinear_parameters_name_the_networks_weights_and_sigma():
    nl = NonlinearLVM()
    assert list(nl.parameters()) == ["W1", "b1", "W2", "b2", "sigma", "mu_z", "s_z"]
    assert list(NonlinearLVM(f=torch.tanh).parameters()) == ["sigma", "mu_z", "s_z"]


def test_log_marginal_is_differentiable_in_theta():
    nl = NonlinearLVM()
    nl.log_marginal(torch.tensor([0.3, 1.0])).sum().backward()
    assert nl.f.W1.grad is not None and nl.f.W1.grad.abs().sum() > 0


# ---------------------------------------------------------------------------- PPCA

@pytest.fixture(scope="module")
def digits():
    return data.digits(view="grey").double()


def test_ppca_log_marginal_matches_a_direct_gaussian_log_density(digits):
    m = PPCA.fit(digits, 5)
    assert m.W.shape == (64, 5) and m.mu.shape == (64,) and m.sigma2.dim() == 0
    C = m.W @ m.W.T + m.sigma2 * torch.eye(64, dtype=torch.float64)
    X = digits[:50]
    direct = MultivariateNormal(m.mu, covariance_matrix=C).log_prob(X)
    torch.testing.assert_close(m.log_marginal(X), direct)
    diff = X - m.mu
    by_hand = -0.5 * (64 * math.log(2 * math.pi) + torch.logdet(C)
                      + (diff * torch.linalg.solve(C, diff.T).T).sum(-1))
    torch.testing.assert_close(m.log_marginal(X), by_hand)


@pytest.mark.parametrize("q", [1, 5, 20])
def test_ppca_agrees_with_scikit_learn_pca_score_samples(digits, q):
    from sklearn.decomposition import PCA

    X = digits.numpy()
    sk = PCA(n_components=q, svd_solver="full").fit(X)
    m = PPCA.fit(digits, q)
    n = len(X)
    # scikit-learn estimates variances with 1/(N-1), the ML fit with 1/N: C differs by N/(N-1).
    torch.testing.assert_close(m.covariance * n / (n - 1), torch.as_tensor(sk.get_covariance()))
    same = PPCA(m.W * math.sqrt(n / (n - 1)), m.mu, m.sigma2 * n / (n - 1))
    torch.testing.assert_close(same.log_marginal(digits), torch.as_tensor(sk.score_samples(X)))


def test_ppca_fit_is_the_eigen_solution_and_a_maximum(digits):
    q = 4
    m = PPCA.fit(digits, q)
    S = torch.cov(digits.T, correction=0)
    lam, U = torch.linalg.eigh(S)
    lam, U = lam.flip(0), U.flip(1)
    torch.testing.assert_close(m.sigma2, lam[q:].mean())
    torch.testing.assert_close(m.W @ m.W.T, U[:, :q] @ torch.diag(lam[:q] - m.sigma2) @ U[:, :q].T)
    best = m.log_marginal(digits).sum()
    g = torch.Generator().manual_seed(5)
    for _ in range(3):
        dW = 0.05 * torch.randn(m.W.shape, generator=g, dtype=torch.float64)
        assert PPCA(m.W + dW, m.mu, m.sigma2).log_marginal(digits).sum() < best
    for s in (0.95, 1.05):
        assert PPCA(m.W, m.mu, m.sigma2 * s).log_marginal(digits).sum() < best
    assert PPCA(m.W, m.mu + 0.1, m.sigma2).log_marginal(digits).sum() < best


def test_ppca_posterior_equals_gaussian_conditioning_of_the_joint():
    g = torch.Generator().manual_seed(6)
    X = torch.randn(200, 6, generator=g, dtype=torch.float64) @ torch.randn(
        6, 6, generator=g, dtype=torch.float64)
    m = PPCA.fit(X, 2)
    # (z, x) is jointly Gaussian: cov(z) = I, cov(x, z) = W, cov(x) = C. Condition on x.
    C = m.covariance
    mean = (X[:5] - m.mu) @ torch.linalg.solve(C, m.W)  # Wᵀ C⁻¹ (x - μ)
    cov = torch.eye(2, dtype=torch.float64) - m.W.T @ torch.linalg.solve(C, m.W)
    post = m.posterior(X[:5])
    assert isinstance(post, MultivariateNormal) and post.batch_shape == (5,)
    torch.testing.assert_close(post.mean, mean)
    torch.testing.assert_close(post.covariance_matrix, cov.expand(5, 2, 2))


def test_ppca_bayes_rule_holds_at_arbitrary_points():
    g = torch.Generator().manual_seed(7)
    X = torch.randn(100, 4, generator=g, dtype=torch.float64) * torch.tensor([3.0, 2, 1, 0.5])
    m = PPCA.fit(X, 2)
    x, z = X[:3], torch.randn(3, 2, generator=g, dtype=torch.float64)
    lhs = m.posterior(x).log_prob(z)
    rhs = m.prior().log_prob(z) + m.likelihood(z).log_prob(x) - m.log_marginal(x)
    torch.testing.assert_close(lhs, rhs)


# ---------------------------------------------------------------------------- dependency matrix

def linear_distributions(m, z0=0.3, x0=1.1):
    z0, x0 = torch.tensor(z0), torch.tensor(x0)
    return {"prior": m.prior, "likelihood": lambda: m.likelihood(z0),
            "marginal": m.marginal, "posterior": lambda: m.posterior(x0)}


POINTS = torch.tensor([-1.3, 0.4, 2.1])


@pytest.mark.parametrize("theta", THETAS)
def test_dependency_matrix_of_the_linear_model(theta):
    m = LinearGaussianLVM(**theta)
    dm = dependency_matrix(linear_distributions(m), m.parameters(), POINTS)
    assert dm.reads("prior") == ["mu_z", "s_z"]
    assert dm.reads("likelihood") == ["w", "b", "sigma"]
    assert dm.reads("marginal") == dm.reads("posterior") == ["mu_z", "s_z", "w", "b", "sigma"]
    assert dm.moves("w") == ["likelihood", "marginal", "posterior"]
    assert dm.moves("mu_z") == ["prior", "marginal", "posterior"]
    # the components were plain floats: switched on for the computation, then off again
    assert not any(p.requires_grad for p in m.parameters().values())


def test_a_standard_normal_prior_depends_on_nothing():
    m = LinearGaussianLVM(**THETAS[1])
    dists = {"N(0, 1) prior": lambda: Normal(0.0, 1.0), **linear_distributions(m)}
    dm = dependency_matrix(dists, m.parameters(), POINTS)
    assert dm.reads("N(0, 1) prior") == []
    # AEVB's prior N(0, I): with μ_z = 0, s_z = 1 held fixed the prior reads nothing and θ is
    # (w, b, σ); the model's own prior still reads its own μ_z, s_z when they are components.
    assert dm.reads("prior") == ["mu_z", "s_z"]


def test_dependency_is_per_point_so_symmetric_points_cannot_cancel():
    m = LinearGaussianLVM(0.0, 1.0, 1.0, 0.0, 1.0)
    # summed over ±1.5 the μ_z-gradients (t - μ_z)/s_z² cancel; one point at a time they do not
    dm = dependency_matrix({"prior": m.prior}, m.parameters(), torch.tensor([-1.5, 1.5]))
    assert dm.reads("prior") == ["mu_z", "s_z"]
    # a single unlucky point can hide a dependence: ∂/∂s_z log N(t; 0, s_z²) = 0 at |t| = s_z,
    # which is why the matrix is read at several points in general position
    one = dependency_matrix({"prior": m.prior}, m.parameters(), torch.tensor([1.0]))
    assert one.reads("prior") == ["mu_z"]


def test_dependency_matrix_of_the_nonlinear_model_and_its_table():
    nl = NonlinearLVM()
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


# ---------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, message", [
    (lambda: LinearGaussianLVM(s_z=-1.0), "s_z: a scale must be > 0"),
    (lambda: LinearGaussianLVM(s_z=0.0), "s_z: a scale must be > 0"),
    (lambda: LinearGaussianLVM(sigma=0.0), "sigma: a scale must be > 0"),
    (lambda: LinearGaussianLVM(mu_z=float("nan")), "mu_z: expected finite numbers"),
    (lambda: LinearGaussianLVM(w=float("inf")), "w: expected finite numbers"),
    (lambda: LinearGaussianLVM(b=[1.0, 2.0]), "b: expected a single number"),
    (lambda: LinearGaussianLVM(b="one"), "b: expected numbers"),
    (lambda: LinearGaussianLVM().posterior(float("nan")), "x: expected finite numbers"),
    (lambda: LinearGaussianLVM().likelihood([0.0, float("inf")]), "z: expected finite numbers"),
    (lambda: LinearGaussianLVM().log_joint(0.0, "z"), "z: expected numbers"),
    (lambda: LinearGaussianLVM().sample(0), "n: expected a whole number >= 1"),
    (lambda: NonlinearLVM(f=3.0), "f: expected a callable"),
    (lambda: NonlinearLVM(sigma=-0.5), "sigma: a scale must be > 0"),
    (lambda: NonlinearLVM(s_z=0.0), "s_z: a scale must be > 0"),
    (lambda: NonlinearLVM(mu_z=float("nan")), "mu_z: expected finite numbers"),
    (lambda: NonlinearLVM(seed=1.5), "seed: expected a whole number"),
    (lambda: NonlinearLVM(grid=[0.0, 1.0, 3.0]), "grid: expected equally spaced"),
    (lambda: NonlinearLVM(grid=[2.0, 1.0, 0.0]), "grid: expected equally spaced"),
    (lambda: NonlinearLVM(grid=[0.0, 1.0]), r"grid: expected at least 3 value\(s\)"),
    (lambda: NonlinearLVM(grid=torch.zeros(3, 3)), "grid: expected a 1-D tensor"),
    (lambda: NonlinearLVM().log_marginal(float("nan")), "x: expected finite numbers"),
    (lambda: NonlinearLVM().posterior([1.0, float("inf")]), "x: expected finite numbers"),
    (lambda: NonlinearLVM().posterior(0.0).sample(0), "n: expected a whole number >= 1"),
    (lambda: MLP(hidden=0), "hidden: expected a whole number >= 1"),
    (lambda: PPCA.fit(torch.randn(10, 4), 0), "q: expected a whole number"),
    (lambda: PPCA.fit(torch.randn(10, 4), 4), "q: expected a whole number"),
    (lambda: PPCA.fit(torch.randn(10, 4), 2.0), "q: expected a whole number"),
    (lambda: PPCA.fit(torch.randn(10), 1), "X: expected a 2-D tensor"),
    (lambda: PPCA.fit(torch.randn(1, 4), 1), r"X: expected at least 2 value\(s\)"),
    (lambda: PPCA.fit(torch.full((10, 4), float("nan")), 1), "X: expected finite numbers"),
    (lambda: PPCA.fit(torch.ones(10, 4), 1), "X: its covariance has rank <= q"),
    (lambda: PPCA.fit(torch.randn(10, 4), 1).log_marginal(torch.randn(3, 5)),
     r"X: expected shape \(N, 4\)"),
    (lambda: PPCA.fit(torch.randn(10, 4), 1).posterior(torch.randn(4)), "X: expected a 2-D"),
    (lambda: PPCA(torch.randn(4, 2), torch.zeros(3), 1.0), "W and mu: expected W of shape"),
    (lambda: PPCA(torch.randn(4, 2), torch.zeros(4), -1.0), "sigma2: a scale must be > 0"),
    (lambda: PPCA(torch.randn(4, 2), torch.zeros(4), 1.0).likelihood(torch.zeros(3)),
     r"z: expected shape \(\.\.\., 2\)"),
    (lambda: dependency_matrix({}, {"w": torch.tensor(1.0)}, POINTS), "distributions: expected"),
    (lambda: dependency_matrix({"p": 3}, {"w": torch.tensor(1.0)}, POINTS),
     "distributions: expected"),
    (lambda: dependency_matrix({"p": LinearGaussianLVM().prior}, {"w": 1.0}, POINTS),
     "params: expected"),
    (lambda: dependency_matrix({"p": LinearGaussianLVM().prior}, {"w": torch.tensor(1.0)},
                               torch.tensor(0.5)), "points: expected one or more points"),
    (lambda: dependency_matrix({"p": LinearGaussianLVM().prior}, {"w": torch.tensor(1.0)},
                               {"q": POINTS}), "points: expected an entry for every"),
    (lambda: dependency_matrix({"p": LinearGaussianLVM().prior}, {"w": torch.tensor(1.0)},
                               POINTS, tol=-1.0), "tol: expected a number >= 0"),
])
def test_bad_input_is_rejected_with_a_message_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------- dashboards

def slider_grid(ranges, n):
    return torch.meshgrid(*[torch.linspace(lo, hi, n, dtype=torch.float64)
                            for lo, hi in ranges.values()], indexing="ij")


def test_linear_dashboard_axes_fit_every_slider_position():
    from vaelib.dashboards import l02_lvm as D

    mu, s, w, b, sigma, x = slider_grid(D.RANGES, 9)
    m = LinearGaussianLVM(0.0, 1.0, 1.0, 0.0, 1.0)  # for its formulas, applied elementwise below
    m.mu_z, m.s_z, m.w, m.b, m.sigma = mu, s, w, b, sigma
    curves = {"prior": (m.prior(), D.Z_LIM), "marginal": (m.marginal(), D.X_LIM),
              "posterior": (m.posterior(x), D.Z_LIM)}
    for name, (p, (lo, hi)) in curves.items():
        assert (p.mean - 2 * p.stddev >= lo).all() and (p.mean + 2 * p.stddev <= hi).all(), name
        peak = p.log_prob(p.mean).exp().max()
        assert peak < D.Y_TOP[name], name
    for z in D.Z_SHOWN:
        lik = m.likelihood(torch.tensor(z, dtype=torch.float64))
        assert (lik.mean.abs() + 2 * lik.stddev <= D.X_LIM[1]).all()
    assert 1 / (sigma.min() * math.sqrt(2 * math.pi)) < D.Y_TOP["likelihood"]


def test_linear_dashboard_tags_come_from_the_dependency_matrix_and_light_the_moved_panels():
    from vaelib.dashboards import l02_lvm as D

    dm = D.linear_dependencies()
    assert dm.moves("x") == ["posterior"] and dm.moves("w") == ["likelihood", "marginal",
                                                                  "posterior"]
    d = D.linear_dashboard()
    titles = [ax.get_title() for ax in d.fig.axes]
    assert titles[0].endswith("reads μ_z, s_z") and titles[1].endswith("reads w, b, σ")
    assert titles[2].endswith("reads μ_z, s_z, w, b, σ") and titles[3].endswith("reads μ_z, "
                                                                                 "s_z, w, b, σ")
    for control, n_lit in [("w", 3), ("x", 1), ("mu_z", 3)]:
        d.update(**{control: d.values[control] + 0.1})
        bars = [a for a in d._changed if getattr(a, "get_color", lambda: "")() == D.HIGHLIGHT]
        assert len(bars) == n_lit
    assert "<b>w</b> moves likelihood, marginal, posterior" in d.readout.value


def test_nonlinear_dashboard_fits_its_axes_and_draws_the_library_posterior():
    from vaelib.dashboards import l02_lvm as D

    grid = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    xs = torch.linspace(*D.NL_RANGES["x"], 41, dtype=torch.float64)
    outside = (grid < D.NL_Z[0]) | (grid > D.NL_Z[1])
    for sigma in torch.linspace(*D.NL_RANGES["sigma"], 9).tolist():
        m = NonlinearLVM(sigma=sigma, grid=grid)
        with torch.no_grad():
            p = m.posterior(xs)
            assert p.density.max() < D.NL_Y_TOP["posterior"]
            assert (p.density[:, outside].sum(-1) * p.dz).max() < 0.01  # <1% of mass off-panel
            assert m.log_marginal(xs).exp().max() < D.NL_Y_TOP["marginal"]
    d = D.nonlinear_dashboard()
    for sigma in (0.2, 0.5, 1.0):  # the precomputed marginal curve on the coarse grid
        d.update(sigma=sigma)
        line = d.fig.axes[1].get_lines()[0]
        with torch.no_grad():
            fine = NonlinearLVM(sigma=sigma).log_marginal(torch.as_tensor(line.get_xdata())).exp()
        assert (torch.as_tensor(line.get_ydata()) - fine).abs().max() < 1e-6
    d.update(sigma=0.4, x=2.0)
    post_line = d.fig.axes[2].get_lines()[-1]
    with torch.no_grad():
        expected = NonlinearLVM(sigma=0.4).posterior(torch.tensor(2.0)).log_prob(
            torch.as_tensor(post_line.get_xdata())).exp()
    torch.testing.assert_close(torch.as_tensor(post_line.get_ydata()), expected, rtol=1e-6,
                               atol=1e-9)
