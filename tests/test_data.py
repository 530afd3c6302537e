"""vaelib.data: the bundled digits (splits, views) and the optional MNIST IDX parser, tested on
small IDX files written here (nothing is downloaded)."""

import gzip
import struct

import pytest
import torch
from sklearn.datasets import load_digits

from vaelib import data


def test_splits_are_the_peers_and_cover_the_data_once():
    sizes = {s: len(data.digits(s)) for s in ("train", "val", "test", "all")}
    assert sizes == {"train": 1000, "val": 350, "test": 447, "all": 1797}
    raw = torch.as_tensor(load_digits().data, dtype=torch.float32)
    assert torch.equal(data.digits("val", "grey"), raw[1000:1350])
    assert torch.equal(data.labels("test"), torch.as_tensor(load_digits().target[1350:]))


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


def _write_idx(path, values: torch.Tensor, type_code: int, fmt: str, compress=False):
    """An IDX file written by hand from the format's definition (big-endian)."""
    header = bytes([0, 0, type_code, values.dim()]) + struct.pack(f">{values.dim()}I", *values.shape)
    body = struct.pack(f">{values.numel()}{fmt}", *values.flatten().tolist())
    (gzip.open if compress else open)(path, "wb").write(header + body)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_ubyte_images(tmp_path, compress):
    images = torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8)
    path = tmp_path / ("im.idx" + (".gz" if compress else ""))
    _write_idx(path, images, 0x08, "B", compress)
    assert torch.equal(data.read_idx(path), images)


@pytest.mark.parametrize("type_code, fmt, dtype", [(0x0C, "i", torch.int32), (0x0B, "h", torch.int16),
                                                   (0x0D, "f", torch.float32)])
def test_read_idx_multibyte_values_are_big_endian(tmp_path, type_code, fmt, dtype):
    values = torch.tensor([[1, -2, 300], [70000 if dtype == torch.int32 else 7, 0, -5]]).to(dtype)
    _write_idx(tmp_path / "v.idx", values, type_code, fmt)
    assert torch.equal(data.read_idx(tmp_path / "v.idx"), values)


def test_mnist_from_local_files(tmp_path):
    images = torch.randint(0, 256, (6, 28, 28), dtype=torch.uint8)
    targets = torch.randint(0, 10, (6,), dtype=torch.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 0x08, "B", compress=True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", targets, 0x08, "B")
    x, y = data.mnist(tmp_path, "test", "grey")
    assert x.shape == (6, 784) and torch.equal(x, images.reshape(6, -1).float())
    assert torch.equal(y, targets.long())
    xb, _ = data.mnist(tmp_path, "test", "binary")
    assert torch.equal(xb, (images.reshape(6, -1) >= 128).float())


def test_mnist_refuses_images_and_labels_that_do_not_pair(tmp_path):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", torch.zeros(3, 2, 2, dtype=torch.uint8), 0x08, "B")
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", torch.zeros(2, dtype=torch.uint8), 0x08, "B")
    with pytest.raises(ValueError, match="folder: expected images"):
        data.mnist(tmp_path, "test")


def test_the_file_read_directly_is_load_digits_and_the_fallback_is_load_digits_itself(monkeypatch):
    import importlib.util

    bunch = load_digits()
    assert torch.equal(data.digits("all", "grey"), torch.as_tensor(bunch.data, dtype=torch.float32))
    assert torch.equal(data.labels("all"), torch.as_tensor(bunch.target))
    direct = data._table()
    data._table.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # the file not found: load_digits
    try:
        assert torch.equal(data._table(), direct)
    finally:
        data._table.cache_clear()
