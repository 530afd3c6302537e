"""Shared test set-up: a non-interactive matplotlib backend, one torch thread, seeded torch.

One thread: the course's models are tiny, so threads buy nothing, and the suite runs kernels side by
side on 2 cores (determinism, browser), where torch's spinning threads would fight for the cores.
The environment variables reach every kernel the tests start (nbval, nbclient, JupyterLab).
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

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


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(SUMMARY, [])
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
