"""The real data set of the course: scikit-learn's bundled 8x8 digits (1797 images, grey levels
0..16), read from the scikit-learn package on disk: offline, nothing downloaded.

Splits are the peer's (Tomczak's VAE on these digits): train = [:1000], val = [1000:1350],
test = [1350:], in the order scikit-learn ships them.

MNIST (28x28, 784 pixels) is an option for learners who are online and have the four IDX files
on disk; the course never needs it and this module never downloads anything: `mnist(folder)`
reads the files you fetched yourself (e.g. from https://yann.lecun.com/exdb/mnist/ or a mirror).
"""

import functools
import gzip
import struct
from pathlib import Path

import torch

from vaelib import validate

SPLITS = {"train": slice(0, 1000), "val": slice(1000, 1350), "test": slice(1350, None),
          "all": slice(None)}
VIEWS = ("grey", "binary", "unit")


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
    validate.one_of("split", split, SPLITS)
    validate.one_of("view", view, VIEWS)
    x = _all_pixels()[SPLITS[split]]
    return {"binary": lambda: (x >= 8).float(), "unit": lambda: x / 16, "grey": x.clone}[view]()


def labels(split: str = "train") -> torch.Tensor:
    """The digit (0..9) of each image of `split`, for colouring latent maps; never used in training."""
    validate.one_of("split", split, SPLITS)
    return _table()[SPLITS[split], 64].long()


# --- optional: MNIST from local IDX files ------------------------------------------------------

IDX_TYPES = {0x08: torch.uint8, 0x09: torch.int8, 0x0B: torch.int16, 0x0C: torch.int32,
             0x0D: torch.float32, 0x0E: torch.float64}
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path) -> torch.Tensor:
    """Parse one IDX file (plain or .gz): magic = two zero bytes, a type code, the number of
    dimensions n; then n big-endian uint32 sizes; then the values, big-endian, row-major."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: expected an existing IDX file, got {str(path)!r}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in IDX_TYPES:
        raise ValueError(f"path: {path.name} is not an IDX file (bad magic number {data[:4]!r})")
    ndim, dtype = data[3], IDX_TYPES[data[2]]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim]) if len(data) >= 4 + 4 * ndim else None
    itemsize = torch.empty((), dtype=dtype).element_size()
    count = 1
    for s in shape or ():
        count *= s
    body = data[4 + 4 * ndim:]
    if shape is None or len(body) != count * itemsize:
        raise ValueError(f"path: {path.name} is truncated or has extra bytes (header says shape "
                         f"{shape}, {count * itemsize} bytes of values; found {len(body)})")
    flat = torch.frombuffer(bytearray(body), dtype=torch.uint8)
    if itemsize > 1:  # IDX is big-endian; reverse each value's bytes for the little-endian CPU
        flat = flat.view(-1, itemsize).flip(1).contiguous().view(dtype)
    return flat.view(dtype).reshape(shape).clone()


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"folder: no {stem}[.gz] in {str(folder)!r}; MNIST is optional and never "
                     f"downloaded by vaelib: fetch the four IDX files yourself to use it")


def mnist(folder, split: str = "train", view: str = "binary") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST from the IDX files in `folder`: (images (N, 784) float, labels (N,) int64).

    view 'grey' gives pixel values 0..255; 'binary' thresholds at 128 (pixel >= 128 -> 1)."""
    validate.one_of("split", split, MNIST_FILES)
    validate.one_of("view", view, ("grey", "binary"))
    folder = Path(folder)
    images = read_idx(_find(folder, MNIST_FILES[split][0]))
    targets = read_idx(_find(folder, MNIST_FILES[split][1]))
    if images.dim() != 3 or targets.dim() != 1 or len(images) != len(targets):
        raise ValueError(f"folder: expected images (N, rows, cols) and N labels, got shapes "
                         f"{tuple(images.shape)} and {tuple(targets.shape)}")
    x = images.reshape(len(images), -1).float()
    return ((x >= 128).float() if view == "binary" else x), targets.long()
