"""Lessons 04-06: scikit-learn's bundled 8x8 digits (1797 images, grey levels 0..16), read offline from the
package on disk. Splits are the peer's (Tomczak's VAE on these digits): train = [:1000], val = [1000:1350],
test = [1350:], in scikit-learn's order.
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
    """The (1797, 65) table, 64 pixels and the label a row, from the file load_digits reads without
    importing scikit-learn (seconds a lesson); load_digits itself if the file has moved."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return torch.cat([torch.as_tensor(bunch.data), torch.as_tensor(bunch.target)[:, None]], 1).float()
    rows = gzip.decompress(path.read_bytes()).decode().split()
    return torch.tensor([[float(v) for v in row.split(",")] for row in rows], dtype=torch.float32)


def digits(split: str = "train", view: str = "binary") -> torch.Tensor:
    """Digits as an (N, 64) float tensor: view 'grey' keeps 0..16, 'binary' is pixel >= 8 as 0/1,
    'unit' is grey / 16 in [0, 1] (lesson 06's Gaussian decoders)."""
    validate.one_of("split", split, _SPLITS)
    validate.one_of("view", view, _VIEWS)
    x = _table()[_SPLITS[split], :64]  # values 0..16
    return {"binary": lambda: (x >= 8).float(), "unit": lambda: x / 16, "grey": x.clone}[view]()


def labels(split: str = "train") -> torch.Tensor:
    """The digit (0..9) of each image of `split`, for colouring latent maps; never used in training."""
    validate.one_of("split", split, _SPLITS)
    return _table()[_SPLITS[split], 64].long()
