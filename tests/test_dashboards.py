"""The lesson dashboards' own promises: axes that fit every slider position, panels tagged from
the dependency matrix, curves that are the library's (sliders are swept in test_sweep.py)."""

import math

import torch

from vaelib import joint


def slider_grid(ranges, n):
    return torch.meshgrid(*[torch.linspace(lo, hi, n, dtype=torch.float64)
                            for lo, hi in ranges.values()], indexing="ij")


def test_linear_dashboard_axes_fit_every_slider_position():
    from vaelib.dashboards import l02_lvm as D

    mu, s, w, b, sigma, x = slider_grid(D._RANGES, 9)
    m = joint.LinearGaussianLVM(0.0, 1.0, 1.0, 0.0, 1.0)  # for its formulas, applied elementwise below
    m.mu_z, m.s_z, m.w, m.b, m.sigma = mu, s, w, b, sigma
    curves = {"prior": (m.prior(), D.Z_LIM), "marginal": (m.marginal(), D.X_LIM),
              "posterior": (m.posterior(x), D.Z_LIM)}
    for name, (p, (lo, hi)) in curves.items():
        assert (p.mean - 2 * p.stddev >= lo).all() and (p.mean + 2 * p.stddev <= hi).all(), name
        peak = p.log_prob(p.mean).exp().max()
        assert peak < D._Y_TOP[name], name
    for z in D.Z_SHOWN:
        lik = m.likelihood(torch.tensor(z, dtype=torch.float64))
        assert (lik.mean.abs() + 2 * lik.stddev <= D.X_LIM[1]).all()
    assert 1 / (sigma.min() * math.sqrt(2 * math.pi)) < D._Y_TOP["likelihood"]


def test_linear_dashboard_tags_come_from_the_dependency_matrix_and_light_the_moved_panels():
    from vaelib.dashboards import l02_lvm as D

    dm = D.linear_dependencies()
    assert dm.moves("x") == ["posterior"]
    assert dm.moves("w") == ["likelihood", "joint", "marginal", "posterior"]
    d = D.linear_dashboard()
    titles = [ax.get_title() for ax in d.fig.axes]
    assert titles[0].endswith("reads μ_z, s_z") and titles[1].endswith("reads w, b, σ")
    assert all(t.endswith("reads μ_z, s_z, w, b, σ") for t in titles[2:])

    def lit():
        return [a for a in d._changed if getattr(a, "get_color", lambda: "")() == D._HIGHLIGHT]

    for control, n_lit in [("w", 4), ("x", 1), ("mu_z", 4)]:
        d.update(**{control: d.values[control] + 0.1})
        assert len(lit()) == n_lit
    assert "<b>w</b> moves likelihood, joint, marginal, posterior" in d.readout.value
    # the matrix is local to the θ on the sliders: at w = 0, x ignores z, the posterior is the
    # prior, and neither μ_z nor x moves the marginal (a matrix fixed at the default θ would say so)
    d.update(w=0.0)
    d.update(mu_z=0.3)
    assert len(lit()) == 3 and "<b>x</b> moves nothing" in d.readout.value
    d.update(x=2.0)
    assert lit() == []


def test_linear_dashboard_draws_the_joint_and_marks_the_observed_x():
    from vaelib.dashboards import l02_lvm as D

    d = D.linear_dashboard()
    theta = dict(mu_z=0.5, s_z=1.2, w=1.5, b=-0.3, sigma=0.7)
    d.update(**theta, x=2.0)
    joint_ax = d.fig.axes[D.PANELS.index("joint")]
    image = joint_ax.get_images()[0]
    z0, z1, x0, x1 = image.get_extent()
    values = image.get_array()
    z = torch.linspace(z0, z1, values.shape[1], dtype=torch.float64)
    x = torch.linspace(x0, x1, values.shape[0], dtype=torch.float64)
    exact = joint.LinearGaussianLVM(**theta).log_joint(x.unsqueeze(-1), z).exp()
    torch.testing.assert_close(torch.as_tensor(values, dtype=torch.float64), exact)
    slice_line = joint_ax.get_lines()[0]
    likelihood_x = d.fig.axes[D.PANELS.index("likelihood")].get_lines()[len(D.Z_SHOWN)]
    assert list(slice_line.get_ydata()) == [2.0, 2.0] and list(likelihood_x.get_xdata()) == [2.0, 2.0]


def test_nonlinear_dashboard_fits_its_axes_and_draws_the_library_posterior():
    from vaelib.dashboards import l02_network as D

    grid = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    xs = torch.linspace(*D._RANGES["x"], 41, dtype=torch.float64)
    outside = (grid < D.Z_LIM[0]) | (grid > D.Z_LIM[1])
    for sigma in torch.linspace(*D._RANGES["sigma"], 9).tolist():
        m = joint.NonlinearLVM(sigma=sigma, grid=grid)
        with torch.no_grad():
            p = m.posterior(xs)
            assert p.density.max() < D._Y_TOP["posterior"]
            assert (p.density[:, outside].sum(-1) * p.dz).max() < 0.01  # <1% of mass off-panel
            assert m.log_marginal(xs).exp().max() < D._Y_TOP["marginal"]
    assert D._DEFAULTS["sigma"] == joint.NonlinearLVM().sigma.item()  # the lesson's model, to start
    d = D.dashboard()
    for sigma in (0.2, 0.5, 1.0):  # the precomputed marginal curve on the coarse grid
        d.update(sigma=sigma)
        line = d.fig.axes[1].get_lines()[0]
        with torch.no_grad():
            fine = joint.NonlinearLVM(sigma=sigma).log_marginal(torch.as_tensor(line.get_xdata())).exp()
        assert (torch.as_tensor(line.get_ydata()) - fine).abs().max() < 1e-6
    d.update(sigma=0.4, x=2.0)
    post_line = d.fig.axes[2].get_lines()[-1]
    with torch.no_grad():
        expected = joint.NonlinearLVM(sigma=0.4).posterior(torch.tensor(2.0)).log_prob(
            torch.as_tensor(post_line.get_xdata())).exp()
    torch.testing.assert_close(torch.as_tensor(post_line.get_ydata()), expected, rtol=1e-6,
                               atol=1e-9)


def test_the_linear_dashboards_matrix_is_autograds_at_every_position_it_shows():
    """The dashboard runs autograd only at w = 0 and shows the defaults' pattern elsewhere: at 400
    seeded random slider positions (a third of them with w, μ_z or b at 0, or x = b) that is
    exactly the matrix computed afresh there."""
    import numpy as np

    from vaelib.dashboards import l02_lvm as D
    from vaelib.dashboards.common import positions

    rng = np.random.default_rng(7)
    grid = {c: positions(*D._RANGES[c], 0.05) for c in D._RANGES}
    for _ in range(400):
        v = {c: float(rng.choice(g)) for c, g in grid.items()}
        for c in ("w", "mu_z", "b"):
            v[c] = 0.0 if rng.random() < 0.15 else v[c]
        v["x"] = v["b"] if rng.random() < 0.1 else v["x"]
        shown = D._dependencies_at(tuple(round(v[c], 9) for c in D._RANGES))
        assert dict(shown) == dict(D.linear_dependencies(v)), v


def test_the_amortization_dashboard_opens_away_from_where_q_star_jumps():
    """Lesson 04's exercise 1 asks where the encoder's amortization gap peaks: next to the x where
    q*'s mean jumps from one hill of the ELBO to another (about 1.2). The dashboard opens at lesson
    03's x = 1.5 instead, so that its first picture does not give the answer away."""
    import pytest

    from vaelib import per_datapoint
    from vaelib.dashboards import l04_amortized as D
    from vaelib.dashboards.common import positions
    from vaelib.encoder import ScalarEncoder

    model = joint.NonlinearLVM()
    dash = D.dashboard(model, ScalarEncoder(seed=0))  # the opening x does not depend on the encoder
    x_near = torch.as_tensor(positions(0.6, 2.0, 0.02), dtype=torch.float64)
    jumps = per_datapoint.optimal_gaussian(model, x_near)["m"].diff().abs()
    jump_at = ((x_near[1:] + x_near[:-1]) / 2)[jumps.argmax()].item()
    assert abs(jump_at - 1.2) < 0.05 and jumps.max() > 0.3
    assert dash.controls["x"].value == pytest.approx(1.5) and abs(dash.controls["x"].value - jump_at) > 0.2
    assert "x = 1.50" in dash.readout.value
