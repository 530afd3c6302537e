"""Lesson 04's θ-and-φ dashboard (vaelib.dashboards.l04_theta_phi) and its model (vaelib.theta_phi):
φ moves only the split, θ can move the total; the toggles reach KL = 0 and the maximum over θ and grey
out what they set; the readout says what each move changed; what it draws is the closed form's."""

import math

import numpy as np
import pytest
import torch

from vaelib import theta_phi as M
from vaelib.dashboards import l04_theta_phi as D
from vaelib.joint import LinearGaussianLVM
from vaelib.linear_vae import ml_theta_1d

F64 = torch.float64


@pytest.fixture(scope="module")
def dash():
    return D.dashboard()


def numbers(dash) -> dict:
    view = dash.draw.__self__
    return view.terms()


def closed_form(v: dict, x: torch.Tensor) -> LinearGaussianLVM:
    """Lesson 02's closed-form model with p_θ(z) = N(0, 1): the independent reference."""
    return LinearGaussianLVM(*(torch.tensor(t, dtype=F64) for t in (0.0, 1.0, v["w"], v["b"], v["sigma"])))


def test_data_come_from_the_fixed_truth():
    x = M.data_set()
    assert x.shape == (200, 1) and torch.equal(x, M.data_set())  # seeded
    assert abs(x.mean().item() - M._TRUTH["b"]) < 0.3
    assert abs(x.var().item() - (M._TRUTH["w"] ** 2 + M._TRUTH["sigma"] ** 2)) < 0.6


@pytest.mark.parametrize("name", ["a", "c", "s", "w", "b", "sigma"])
def test_moving_phi_changes_only_the_split_and_moving_theta_the_total(dash, name):
    dash.update(**M.DEFAULTS, phi_star=False, theta_ml=False)
    before = numbers(dash)
    dash.update(**{name: M.DEFAULTS[name] + 0.1})
    after = numbers(dash)
    if name in M.PHI:  # (that the total holds no φ is by construction; its value is checked below)
        assert abs(after["kl"] - before["kl"]) > 1e-4
        assert after["elbo"] - before["elbo"] == pytest.approx(before["kl"] - after["kl"], abs=1e-12)
        said = ("changed only the split", f"φ ({D._SYMBOL[name]})")
    else:
        assert abs(after["total"] - before["total"]) > 1e-4
        said = ("changed the total", f"θ ({D._SYMBOL[name]})")
    assert all(s in dash.readout.value for s in said)


def test_the_split_adds_up_and_each_part_is_the_closed_form(dash):
    x, rng = M.data_set(), np.random.default_rng(0)
    for _ in range(20):
        v = {k: float(rng.uniform(lo, hi)) for k, (lo, hi, _) in D._RANGES.items()}
        dash.update(**v, phi_star=False, theta_ml=False)
        t = numbers(dash)
        model = closed_form(v, x)
        assert t["total"] == pytest.approx(model.marginal().log_prob(x).mean().item(), abs=1e-10)
        assert t["elbo"] + t["kl"] == pytest.approx(t["total"], abs=1e-10)
        # ELBO = E_q[log p_θ(x, z)] + H[q] by Gauss-Hermite quadrature (exact for this quadratic)
        nodes, weights = np.polynomial.hermite_e.hermegauss(20)
        m, s = v["a"] * x + v["c"], v["s"]
        z = m + s * torch.as_tensor(nodes, dtype=F64)
        expected = (model.log_joint(x, z) * torch.as_tensor(weights / weights.sum(), dtype=F64)).sum(-1)
        entropy = 0.5 * math.log(2 * math.pi * math.e * s**2)
        assert t["elbo"] == pytest.approx((expected + entropy).mean().item(), abs=1e-9)


def test_phi_star_closes_the_kl_and_theta_ml_reaches_the_maximum(dash):
    x = M.data_set()
    for w, sigma in [(0.5, 1.0), (-2.0, 0.3), (0.0, 2.0)]:
        dash.update(w=w, sigma=sigma, phi_star=True, theta_ml=False)
        assert abs(numbers(dash)["kl"]) < 1e-12 and "φ*(θ) = (a, c, s)" in dash.readout.value
        dash.update(theta_ml=True)
        t, view = numbers(dash), dash.draw.__self__
        theta = ml_theta_1d(x, w, sigma)  # (at the maximum, -½ log(2πe var x): lesson 04's check)
        assert t["total"] == pytest.approx(view.best, abs=1e-12) and abs(t["kl"]) < 1e-12
        at_ml = closed_form(theta, x).marginal().log_prob(x).mean().item()
        assert t["total"] == pytest.approx(at_ml, abs=1e-10)
        assert theta["w"] / theta["sigma"] == pytest.approx(w / sigma)  # the sliders' direction kept
    dash.update(**M.DEFAULTS, phi_star=False, theta_ml=False)


def test_the_curves_drawn_are_the_closed_form_densities(dash):
    v = {"w": -1.2, "b": 0.3, "sigma": 0.7, "a": 0.4, "c": -0.2, "s": 0.5}
    dash.update(**v, phi_star=False, theta_ml=False)
    view, x = dash.draw.__self__, M.data_set()
    model = closed_form(v, x)
    xs, ys = view.marginal_line.get_data()
    np.testing.assert_allclose(ys, model.marginal().log_prob(torch.as_tensor(xs)).exp().numpy(), rtol=1e-12)
    for seg, xi in zip(view.posterior_lines.get_segments(), view.marked[:, 0], strict=True):
        post = model.posterior(xi).log_prob(torch.as_tensor(seg[:, 0])).exp().numpy()
        np.testing.assert_allclose(seg[:, 1], post, rtol=1e-10)
    for seg, xi in zip(view.q_lines.get_segments(), view.marked[:, 0], strict=True):
        q = torch.distributions.Normal(v["a"] * xi + v["c"], v["s"]).log_prob(torch.as_tensor(seg[:, 0]))
        np.testing.assert_allclose(seg[:, 1], q.exp().numpy(), rtol=1e-10)
    dash.update(**M.DEFAULTS)


def test_theta_can_move_only_the_split_where_p_x_sees_w_and_sigma_through_w2_plus_sigma2(dash):
    """p_θ(x) = N(b, w² + σ²): w -> -w, or (w, σ) along w² + σ² = const, keeps the total and moves
    the posterior, so only the split changes; the readout says so and says why."""
    for move in ({"w": -0.5}, {"w": 0.6, "sigma": 0.8}):
        dash.update(**{**M.DEFAULTS, "w": 0.8, "sigma": 0.6} if "sigma" in move else M.DEFAULTS,
                    phi_star=False, theta_ml=False)
        before = numbers(dash)
        dash.update(**move)
        after = numbers(dash)
        assert abs(after["total"] - before["total"]) < 1e-12 and abs(after["kl"] - before["kl"]) > 0.1
        assert "changed only the split" in dash.readout.value and "w² + σ²" in dash.readout.value


def test_a_ticked_toggle_greys_out_and_names_the_sliders_it_sets(dash):
    dash.update(**M.DEFAULTS, phi_star=False, theta_ml=False)
    assert not any(dash.controls[k].disabled for k in M.THETA + M.PHI)
    dash.update(phi_star=True)
    assert all(dash.controls[k].disabled for k in M.PHI) and not dash.controls["b"].disabled
    dash.update(a=1.5)
    assert "no change: a is set by φ = φ*(θ) while ticked" in dash.readout.value
    dash.update(theta_ml=True)
    dash.update(b=1.0)
    assert dash.controls["b"].disabled
    assert "no change: b is set by θ = θ_ML while ticked" in dash.readout.value
    dash.update(w=1.2)  # both ticked: θ slides along the half-circle, φ*(θ) follows, nothing changes
    assert "changed neither the total nor the split" in dash.readout.value
    dash.update(phi_star=False, theta_ml=False)
    assert not any(dash.controls[k].disabled for k in M.THETA + M.PHI)
    dash.update(**M.DEFAULTS)


def test_a_move_that_changes_neither_part_is_explained_by_what_moved(dash):
    """A slider can move θ or φ and leave both the total and the KL where they were. The readout
    says why in each case, and speaks of the half-circle of θ_ML only when both toggles are ticked."""
    dash.update(**M.DEFAULTS, phi_star=False, theta_ml=False)
    x, v = M.data_set(), M.DEFAULTS
    a_star = v["w"] / (v["w"] ** 2 + v["sigma"] ** 2)  # φ*(θ)'s a: 0.4; the mean KL is a parabola in a
    assert a_star == pytest.approx(0.4)
    before = numbers(dash)
    dash.update(a=0.6)  # from 0.2 to 0.6: the same distance either side of a* = 0.4
    after = numbers(dash)
    # the KL by an independent route: torch's Gaussian KL to lesson 02's closed-form posterior
    post = closed_form(v, x).posterior(x[:, 0])
    Normal, kl_divergence = torch.distributions.Normal, torch.distributions.kl_divergence
    kl = [kl_divergence(Normal(a * x[:, 0] + v["c"], v["s"]), post).mean() for a in (0.2, 0.6)]
    assert abs(kl[0] - kl[1]) < 1e-12 and after["kl"] == pytest.approx(kl[1].item(), abs=1e-12)
    assert abs(after["kl"] - before["kl"]) < 1e-10 and abs(after["total"] - before["total"]) < 1e-12
    said = dash.readout.value
    assert "φ (a)</b> changed neither the total nor the split" in said and "either side of the a" in said
    assert "θ moved" not in said and "half-circle" not in said
    dash.update(a=0.0)  # q = N(0, s²) for every x: w -> -w flips every posterior mean, the KL stays
    dash.update(w=-0.5)
    said = dash.readout.value
    assert "θ (w)</b> changed neither" in said and "θ moved, but" in said and "half-circle" not in said
    dash.update(**M.DEFAULTS, phi_star=True)  # φ*(θ) ticked: KL 0 before and after, w -> -w keeps the total
    dash.update(w=-0.5)
    said = dash.readout.value
    assert "changed neither" in said and "w² + σ²" in said and "φ*(θ) keeps the KL at 0" in said
    assert "half-circle" not in said
    dash.update(**M.DEFAULTS, phi_star=False, theta_ml=False)


def test_values_below_the_bar_s_floor_are_marked_and_said(dash):
    dash.update(**M.DEFAULTS, phi_star=False, theta_ml=False)
    view = dash.draw.__self__
    assert len(view.bar.off_scale.get_xdata()) == 0
    dash.update(sigma=0.2)  # mean ELBO -34.6 nats, below the floor (best - 6)
    t = numbers(dash)
    assert t["elbo"] < view.floor < t["total"] and len(view.bar.off_scale.get_xdata()) == 1
    assert "▼ the mean ELBO below the panel's floor" in dash.readout.value
    assert view.bar.kl.get_y() == view.floor  # the red part starts at the floor, clipped
    dash.update(**M.DEFAULTS)


@pytest.mark.parametrize("on", [1, True])
def test_the_toggles_take_a_bool_or_0_1(on):
    """Dashboard.time_update sets a control from its min/max/step (0 or 1); a sweep or a future
    time_update may set a checkbox with True/False: the toggle takes either."""
    toggle = D._Toggle("t")
    toggle.value = on
    assert toggle.value is True
    toggle.value = 0
    assert toggle.value is False


def test_at_theta_is_the_closed_form_total_and_phi_star():
    """mean log N(x; b, w² + σ²) and φ*(θ) = (w/v, -bw/v, σ/√v), v = w² + σ², at θ = (sign · w, b, σ)."""
    x = M.data_set()
    theta = {"w": 0.7, "b": -0.3, "sigma": 1.2}
    for sign in (1.0, -1.0):
        w, b, sigma = sign * theta["w"], theta["b"], theta["sigma"]
        v = w**2 + sigma**2
        total, phi = M.at_theta(x, theta, sign)
        marginal = torch.distributions.Normal(torch.tensor(b, dtype=x.dtype), math.sqrt(v))
        expected = marginal.log_prob(x).mean().item()
        assert abs(total - expected) < 1e-12
        closed_form = (w / v, -b * w / v, sigma / math.sqrt(v))
        assert max(abs(p - e) for p, e in zip(phi, closed_form, strict=True)) < 1e-12
