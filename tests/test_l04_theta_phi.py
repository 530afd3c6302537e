"""Lesson 04's θ-and-φ dashboard (vaelib.dashboards.l04_theta_phi): φ moves only the split, θ the
total; the toggles reach KL = 0 and the maximum over θ; what it draws is the closed form's."""

import math

import numpy as np
import pytest
import torch

from vaelib.dashboards import l04_theta_phi as D
from vaelib.joint import LinearGaussianLVM

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
    x = D.data_set()
    assert x.shape == (200, 1) and torch.equal(x, D.data_set())  # seeded
    assert abs(x.mean().item() - D.TRUTH["b"]) < 0.3
    assert abs(x.var().item() - (D.TRUTH["w"] ** 2 + D.TRUTH["sigma"] ** 2)) < 0.6


@pytest.mark.parametrize("name", ["a", "c", "s", "w", "b", "sigma"])
def test_moving_phi_changes_only_the_split_and_moving_theta_the_total(dash, name):
    dash.update(**D.DEFAULTS, phi_star=False, theta_ml=False)
    before = numbers(dash)
    dash.update(**{name: D.DEFAULTS[name] + 0.1})
    after = numbers(dash)
    if name in D.PHI:
        assert after["total"] == before["total"]  # bit for bit: log p_θ(x) holds no φ
        assert abs(after["kl"] - before["kl"]) > 1e-4
        assert after["elbo"] - before["elbo"] == pytest.approx(before["kl"] - after["kl"], abs=1e-12)
        said = ("changed only the split", f"φ ({D.SYMBOL[name]})")
    else:
        assert abs(after["total"] - before["total"]) > 1e-4
        said = ("changed the total", f"θ ({D.SYMBOL[name]})")
    assert all(s in dash.readout.value for s in said)


def test_the_split_adds_up_and_each_part_is_the_closed_form(dash):
    x, rng = D.data_set(), np.random.default_rng(0)
    for _ in range(20):
        v = {k: float(rng.uniform(lo, hi)) for k, (lo, hi, _) in D.RANGES.items()}
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
    x = D.data_set()
    for w, sigma in [(0.5, 1.0), (-2.0, 0.3), (0.0, 2.0)]:
        dash.update(w=w, sigma=sigma, phi_star=True, theta_ml=False)
        assert abs(numbers(dash)["kl"]) < 1e-12 and "φ*(θ) = (a, c, s)" in dash.readout.value
        dash.update(theta_ml=True)
        t, view = numbers(dash), dash.draw.__self__
        theta = D.ml_theta(x, w, sigma)
        assert t["total"] == pytest.approx(view.best, abs=1e-12) and abs(t["kl"]) < 1e-12
        # the maximum: ∇_θ mean log p_θ(x) = 0 there, by autograd on the closed form
        params = [torch.tensor(theta[k], dtype=F64, requires_grad=True) for k in ("w", "b", "sigma")]
        model = LinearGaussianLVM(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64), *params)
        grads = torch.autograd.grad(model.marginal().log_prob(x).mean(), params)
        assert max(g.abs().item() for g in grads) < 1e-10
        assert theta["w"] / theta["sigma"] == pytest.approx(w / sigma)  # the sliders' direction kept
    dash.update(**D.DEFAULTS, phi_star=False, theta_ml=False)


def test_the_curves_drawn_are_the_closed_form_densities(dash):
    v = {"w": -1.2, "b": 0.3, "sigma": 0.7, "a": 0.4, "c": -0.2, "s": 0.5}
    dash.update(**v, phi_star=False, theta_ml=False)
    view, x = dash.draw.__self__, D.data_set()
    model = closed_form(v, x)
    xs, ys = view.marginal_line.get_data()
    np.testing.assert_allclose(ys, model.marginal().log_prob(torch.as_tensor(xs)).exp().numpy(), rtol=1e-12)
    for seg, xi in zip(view.posterior_lines.get_segments(), view.marked[:, 0], strict=True):
        post = model.posterior(xi).log_prob(torch.as_tensor(seg[:, 0])).exp().numpy()
        np.testing.assert_allclose(seg[:, 1], post, rtol=1e-10)
    for seg, xi in zip(view.q_lines.get_segments(), view.marked[:, 0], strict=True):
        q = torch.distributions.Normal(v["a"] * xi + v["c"], v["s"]).log_prob(torch.as_tensor(seg[:, 0]))
        np.testing.assert_allclose(seg[:, 1], q.exp().numpy(), rtol=1e-10)
    dash.update(**D.DEFAULTS)
