"""Lessons 02 and 04: the dependency matrix. Which components of θ (and φ) does each distribution, and
each quantity built from them (lesson 04: log p_θ(x), ELBO(θ, φ; x), KL(q_φ ‖ p_θ(z|x))), read?
A distribution depends on θ_k when ∂ log p(t) / ∂θ_k ≠ 0 at some point t: autograd answers it.
"""

import contextlib

import torch

from vaelib import validate


class DependencyMatrix(dict):
    """{distribution: {component: bool}}: True where the log-density's gradient is nonzero."""

    @property
    def components(self) -> list[str]:
        return list(next(iter(self.values()))) if self else []

    def reads(self, distribution: str) -> list[str]:
        """The components `distribution` depends on."""
        return [c for c, yes in self[distribution].items() if yes]

    def moves(self, component: str) -> list[str]:
        """The distributions that change when `component` changes."""
        return [d for d, row in self.items() if row[component]]

    def to_markdown(self) -> str:
        """A markdown table: one row per distribution, ✓ where it depends on the component.
        A "|" inside a name (p_θ(x|z)) is written "\\|" so it does not end the cell."""
        cols, cell = self.components, lambda name: str(name).replace("|", "\\|")  # noqa: E731
        head = "| | " + " | ".join(cell(c) for c in cols) + " |"
        body = [f"| {cell(d)} | " + " | ".join("✓" if row[c] else "·" for c in cols) + " |"
                for d, row in self.items()]
        return "\n".join([head, "|---|" + "---|" * len(cols), *body])

    def __str__(self):
        width = max([len(d) for d in self] + [10])
        lines = [" " * width + "  " + "  ".join(f"{c:>6}" for c in self.components)]
        lines += [f"{d:<{width}}  " + "  ".join(f"{'x' if row[c] else '.':>6}" for c in self.components)
                  for d, row in self.items()]
        return "\n".join(lines)

    def _repr_markdown_(self):
        return self.to_markdown()


def dependency_matrix(distributions: dict, params: dict, points, tol: float = 0.0) -> DependencyMatrix:
    """For each distribution and component: is |∂ log p(t) / ∂ component| > tol at some point t?
    distributions: {name: callable returning a distribution}, rebuilt inside so autograd sees θ.
    params: {name: tensor}, e.g. model.parameters(); leaves are made to require grad meanwhile.
    points: a tensor whose rows are the points t_k, or {distribution name: such a tensor}: pass a few,
        as a gradient can vanish at one (∂/∂s log N(t; 0, s²) = 0 at |t| = s)."""
    _check(distributions, params)
    log_densities = {name: (lambda t, make=make: make().log_prob(t)) for name, make in distributions.items()}
    return _function_dependencies(log_densities, params, points, tol)


def _function_dependencies(functions: dict, params: dict, points, tol: float = 0.0) -> DependencyMatrix:
    """dependency_matrix for functions f(t) of a point (lesson 04): |∂ f(t) / ∂ component| > tol?"""
    _check(functions, params, what="function of a point t")
    tol = validate.number("tol", tol, at_least=0)
    pts = {name: _points(name, points) for name in functions}
    with _gradients_on(params.values()):
        rows = {name: _largest_gradients(f, pts[name], params) for name, f in functions.items()}
    return DependencyMatrix({d: {c: g > tol for c, g in row.items()} for d, row in rows.items()})


def _largest_gradients(f, points, params: dict) -> dict[str, float]:
    """max over points of |∂ f(t) / ∂ component|, 0 where autograd finds no path."""
    best = dict.fromkeys(params, 0.0)
    for t in points:
        value = f(t).sum()
        if not value.requires_grad:
            continue
        grads = torch.autograd.grad(value, list(params.values()), allow_unused=True)
        for name, g in zip(params, grads, strict=True):
            if g is not None:
                best[name] = max(best[name], g.abs().max().item())
    return best


@contextlib.contextmanager
def _gradients_on(tensors):
    switched = [p for p in tensors if p.is_leaf and not p.requires_grad]
    for p in switched:
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p in switched:
            p.requires_grad_(False)


def _check(distributions, params, what="callable returning a distribution"):
    if not isinstance(distributions, dict) or not distributions or not all(
            callable(v) for v in distributions.values()):
        name = "distributions" if what.startswith("callable") else "functions"
        raise ValueError(f"{name}: expected a non-empty dict {{name: {what}}}")
    if not isinstance(params, dict) or not params or not all(
            isinstance(v, torch.Tensor) and v.is_floating_point() for v in params.values()):
        raise ValueError("params: expected a non-empty dict {name: float tensor}")


def _points(name: str, points) -> torch.Tensor:
    if isinstance(points, dict):
        if name not in points:
            raise ValueError(f"points: expected an entry for every distribution; {name!r} is missing")
        points = points[name]
    t = validate.tensor("points", points)
    if t.dim() == 0:
        raise ValueError("points: expected one or more points (a 1-D tensor, or (K, d) rows)")
    return t
