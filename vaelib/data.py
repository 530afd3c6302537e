"""The real data set of the course: scikit-learn's bundled 8x8 digits (1797 images, grey levels
0..16), read from the scikit-learn package on disk: offline, nothing downloaded.

Splits are the peer's (Tomczak's VAE on these digits): train = [:1000], val = [1000:1350],
test = [1350:], in the order scikit-learn ships them.
"""

import functools

import torch

SPLITS = {"train": slice(0, 1000), "val": slice(1000, 1350), "test": slice(1350, None), "all": slice(None)}
VIEWS = ("grey", "binary")


@functools.cache
def _all_pixels() -> torch.Tensor:
    from sklearn.datasets import load_digits

    return torch.as_tensor(load_digits().data, dtype=torch.float32)  # (1797, 64), values 0..16


def digits(split: str = "train", view: str = "binary") -> torch.Tensor:
    """Digits as an (N, 64) float tensor: view 'grey' keeps 0..16, 'binary' is pixel >= 8 as 0/1."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
    if view not in VIEWS:
        raise ValueError(f"view: expected one of {list(VIEWS)}, got {view!r}")
    x = _all_pixels()[SPLITS[split]]
    return (x >= 8).float() if view == "binary" else x.clone()


def labels(split: str = "train") -> torch.Tensor:
    """The digit (0..9) of each image of `split`, for colouring latent maps; never used in training."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
    from sklearn.datasets import load_digits

    return torch.as_tensor(load_digits().target[SPLITS[split]])
