"""Shared test set-up: a non-interactive matplotlib backend, one torch thread, seeded torch.

One thread: the course's models are tiny, so threads buy nothing, and the suite runs kernels side by
side on 2 cores (determinism, browser), where torch's spinning threads would fight for the cores.
The environment variables reach every kernel the tests start (nbval, nbclient, JupyterLab).
"""

import os
import tempfile
import time

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# `make test` runs the files in two pytest-xdist workers; each inherits the environment of the
# process that started it, which alone prints the end-of-run summary.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
STARTED = time.time()
# Every exercise self-check in every kernel the tests start feeds itself its named wrong answers
# (vaelib.checks) and logs a line here; the end-of-run summary counts them.
if WORKER is None or "VAELIB_CHECK_WRONG_ANSWERS" not in os.environ:
    os.environ["VAELIB_CHECK_WRONG_ANSWERS"] = tempfile.mkstemp(prefix="vaelib-wrong-answers-",
                                                                suffix=".log")[1]
WRONG_ANSWER_LOG = os.environ["VAELIB_CHECK_WRONG_ANSWERS"]

import pytest  # noqa: E402
import torch  # noqa: E402

from harness import browser_lab  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield


SUMMARY = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[SUMMARY] = []


@pytest.fixture(scope="session")
def summary(request):
    """summary(line): a line for the end of the run (counts a reader wants even under -q)."""
    return request.config.stash[SUMMARY].append


def pytest_sessionfinish(session):
    if WORKER is not None:  # hand this worker's summary lines to the process that prints them
        session.config.workeroutput["summary"] = session.config.stash[SUMMARY]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):  # pytest-xdist: a worker has finished
    node.config.stash[SUMMARY] += node.workeroutput.get("summary", [])


def pytest_terminal_summary(terminalreporter, config):
    if WORKER is not None:
        return
    browser_lab.print_results(terminalreporter, since=STARTED)  # what test_browser.py saw, if it ran
    lines = config.stash.get(SUMMARY, []) + _wrong_answer_summary()
    if lines:
        terminalreporter.section("what the tests covered")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def model():
    """Lesson 02's network model, the default NonlinearLVM: multimodal posteriors for some x."""
    from vaelib.joint import NonlinearLVM

    return NonlinearLVM()


@pytest.fixture(scope="session")
def points(model):
    """60 data points drawn from `model`."""
    _, x = model.sample(60, generator=torch.Generator().manual_seed(1))
    return x


def _wrong_answer_summary() -> list[str]:
    with open(WRONG_ANSWER_LOG) as f:
        checks = dict(line.rstrip("\n").split("\t") for line in f if "\t" in line)
    os.unlink(WRONG_ANSWER_LOG)
    if not checks:
        return []
    return [f"exercise self-checks: {len(checks)} checks ran; each told apart its named wrong answers "
            f"or explained options ({sum(int(n) for n in checks.values())} in all)"]
