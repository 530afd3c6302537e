"""Lessons 04-06: the course's real data set, scikit-learn's bundled 8x8 digits (1797 images, grey
levels 0..16), read from the scikit-learn package on disk: offline, nothing downloaded.

Splits are the peer's (Tomczak's VAE on these digits): train = [:1000], val = [1000:1350],
test = [1350:], in the order scikit-learn ships them.
"""

import functools
import gzip
from pathlib import Path

import torch

from vaelib import validate

_SPLITS = {"train": slice(0, 1000), "val": slice(1000, 1350), "test": slice(1350, None),
          "all": slice(None)}
_VIEWS = ("grey", "binary", "unit")


@functools.cache
def _table() -> torch.Tensor:
    """The (1797, 65) table scikit-learn ships, 64 pixels and the label a row: the file load_digits
    reads (sklearn/datasets/data/digits.csv.gz), read without importing scikit-learn (seconds saved
    in every lesson); load_digits itself if the file is not where it was."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return torch.cat([torch.as_tensor(bunch.data), torch.as_tensor(bunch.target)[:, None]], 1).float()
    rows = gzip.decompress(path.read_bytes()).decode().split()
    return torch.tensor([[float(v) for v in row.split(",")] for row in rows], dtype=torch.float32)


def _all_pixels() -> torch.Tensor:
    return _table()[:, :64]  # (1797, 64), values 0..16


def digits(split: str = "train", view: str = "binary") -> torch.Tensor:
    """Digits as an (N, 64) float tensor: view 'grey' keeps 0..16, 'binary' is pixel >= 8 as 0/1,
    'unit' is grey / 16 in [0, 1] (lesson 06's Gaussian decoders)."""
    validate.one_of("split", split, _SPLITS)
    validate.one_of("view", view, _VIEWS)
    x = _all_pixels()[_SPLITS[split]]
    return {"binary": lambda: (x >= 8).float(), "unit": lambda: x / 16, "grey": x.clone}[view]()


def labels(split: str = "train") -> torch.Tensor:
    """The digit (0..9) of each image of `split`, for colouring latent maps; never used in training."""
    validate.one_of("split", split, _SPLITS)
    return _table()[_SPLITS[split], 64].long()
