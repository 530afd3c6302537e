"""vaelib.data: the bundled digits (splits, views), read as load_digits reads them."""

import importlib.util

import torch
from sklearn.datasets import load_digits

from vaelib import data


def test_splits_are_the_peers_and_cover_load_digits_once():
    sizes = {s: len(data.digits(s)) for s in ("train", "val", "test", "all")}
    assert sizes == {"train": 1000, "val": 350, "test": 447, "all": 1797}
    bunch = load_digits()
    raw = torch.as_tensor(bunch.data, dtype=torch.float32)
    assert torch.equal(data.digits("all", "grey"), raw)
    assert torch.equal(data.digits("val", "grey"), raw[1000:1350])
    assert torch.equal(data.labels("all"), torch.as_tensor(bunch.target))
    assert torch.equal(data.labels("test"), torch.as_tensor(bunch.target[1350:]))


def test_views_grey_levels_and_binarised_at_8():
    grey, binary = data.digits("all", "grey"), data.digits("all", "binary")
    assert grey.shape == (1797, 64) and grey.dtype == torch.float32
    assert set(grey.unique().tolist()) == set(range(17))
    assert torch.equal(binary, (grey >= 8).float())
    assert set(binary.unique().tolist()) == {0.0, 1.0}
    unit = data.digits("all", "unit")
    assert set((unit * 16).unique().tolist()) == set(range(17)) and unit.max() == 1.0


def test_digits_returns_a_copy():
    x = data.digits("train", "grey")
    x[:] = -1
    assert data.digits("train", "grey").min() == 0


def test_without_the_file_the_fallback_is_load_digits_itself(monkeypatch):
    direct = data._table()
    data._table.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # the file not found: load_digits
    try:
        assert torch.equal(data._table(), direct)
    finally:
        data._table.cache_clear()
