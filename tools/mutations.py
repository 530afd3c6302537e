"""Does the suite find a real fault? A fixed list of mutations of vaelib, each run against the tests.

    .venv/bin/python tools/mutations.py                 # every mutation, the suite below, a table
    .venv/bin/python tools/mutations.py --only M3 --json

Each mutation replaces one piece of vaelib's source (it must occur exactly once), runs the suite (the
unit tests and every notebook with nbval, two workers: what `make test` runs, without the browser, the
website and the set-up tests, which check no formula), records which tests failed, and restores the
file. A mutation no test fails is a hole in the suite. The list is fixed so that the table before and
after a change to the tests can be compared row by row (INSTRUCTORS.md quotes it).
"""

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (name, file, what it breaks, old text, new text)
MUTATIONS = [
    ("M1", "vaelib/elbo.py", "halve the KL in the ELBO",
     "kl = kl_divergence(_q(q), model.prior())", "kl = 0.5 * kl_divergence(_q(q), model.prior())"),
    ("M1b", "vaelib/vae.py", "halve the KL in the VAE's ELBO (lesson 05's training and estimates)",
     "return log_lik, kl_divergence(q, self.prior())",
     "return log_lik, 0.5 * kl_divergence(q, self.prior())"),
    ("M2", "vaelib/posterior.py", "drop one node (the middle one) from the grid quadrature of log p(x)",
     "return torch.logsumexp(log_joint_on_grid(model, x, grid), -1) + math.log(grid[1] - grid[0])",
     "lj = log_joint_on_grid(model, x, grid)\n    g = lj.shape[-1] // 2\n"
     "    kept = torch.cat([lj[..., :g], lj[..., g + 1:]], -1)\n"
     "    return torch.logsumexp(kept, -1) + math.log(grid[1] - grid[0])"),
    ("M3", "vaelib/ppca.py", "use 1/(N-1) in pPCA's covariance",
     "lam = torch.cat([s**2 / n,", "lam = torch.cat([s**2 / (n - 1),"),
    ("M4", "vaelib/elbo.py", "flip the sign of the reparameterised noise",
     "return mu + sigma * eps", "return mu - sigma * eps"),
    ("M5", "vaelib/train.py", "swap θ's and φ's optimiser groups",
     'update = optimizer([{"params": theta}, {"params": phi}], lr=lr)',
     'update = optimizer([{"params": phi}, {"params": theta}], lr=lr)'),
    ("M6", "vaelib/joint.py", "the linear model's posterior precision with w for w²",
     "v_post = 1 / (1 / self.s_z**2 + self.w**2 / self.sigma**2)",
     "v_post = 1 / (1 / self.s_z**2 + self.w.abs() / self.sigma**2)"),
    ("M7", "vaelib/elbo.py", "drop the -log K of the importance-weighted bound",
     "return (torch.logsumexp(log_w, dim=1) - math.log(k)).mean(0)",
     "return torch.logsumexp(log_w, dim=1).mean(0)"),
    ("M8", "vaelib/linear_vae.py", "the linear VAE's expected log-likelihood without q's variance term",
     "resid = ((x - m @ self.W.T - self.mu) ** 2).sum(-1) + (v * (self.W**2).sum(0)).sum(-1)",
     "resid = ((x - m @ self.W.T - self.mu) ** 2).sum(-1)"),
    ("M9", "vaelib/train.py", "weigh the KL twice in the training loss",
     "L_M = (log_lik - beta * kl).mean()", "L_M = (log_lik - 2 * beta * kl).mean()"),
    ("M10", "vaelib/vae.py", "the Bernoulli decoder reads its logits as probabilities' logits negated",
     "return Independent(Bernoulli(logits=self.net(z), validate_args=False), 1)",
     "return Independent(Bernoulli(logits=-self.net(z), validate_args=False), 1)"),
]
SUITE = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadscope",
         "--no-loadscope-reorder", "tests", "notebooks", "--ignore=tests/test_browser.py",
         "--ignore=tests/test_site.py", "--ignore=tests/test_setup.py", "--ignore=tests/test_environment.py"]


def run(name, path, old, new, full: bool) -> dict:
    file = ROOT / path
    source = file.read_text()
    if source.count(old) != 1:
        return {"mutation": name, "error": f"{path}: the text to mutate occurs {source.count(old)} times"}
    file.write_text(source.replace(old, new))
    try:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, *SUITE, *([] if full else ["-x"])], cwd=ROOT,
                              capture_output=True, text=True)
        failed = sorted(set(re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.M)))
        return {"mutation": name, "failed": failed, "caught": done.returncode != 0,
                "seconds": round(time.perf_counter() - started)}
    finally:
        file.write_text(source)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="mutation names (M1 ...)")
    parser.add_argument("--full", action="store_true", help="every failing test, not only the first (-x)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [run(n, p, old, new, args.full) | {"what": what}
            for n, p, what, old, new in MUTATIONS if not args.only or n in args.only]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            said = r.get("error") or (f"caught by {len(r['failed'])} test(s): {', '.join(r['failed'][:4])}"
                                      if r["caught"] else "NOT CAUGHT")
            print(f"{r['mutation']:4s} {r['what']:70s} {said}")
    return 0 if all(r.get("caught") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
