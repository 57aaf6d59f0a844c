"""Data set readers for the rate-based models: MNIST and Fashion-MNIST (IDX files, raw or
gzip-compressed), the offline MNIST split made from the 10,000 test images alone, and CIFAR-10
(the "python version" batches). Every reader checks what it finds and raises ``DataError`` or
``FileNotFoundError`` with the file, the problem and the fix, before reading any bulk data;
reading never writes anything. ``load("mnist:DIR")`` is the usual entry point.
"""

from __future__ import annotations

import gzip
import math
import pickle
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DataError", "Dataset", "read_idx", "write_idx", "load_mnist", "load_mnist_offline",
           "load_cifar10", "load", "one_hot", "offline_mnist_dir", "MNIST_FILES", "CIFAR10_FILES",
           "OFFLINE_N_TRAIN", "SPECS", "yin_yang", "yin_yang_class", "YIN_YANG_CLASSES", "YIN_YANG_SPLITS"]


class DataError(ValueError):
    """A data file exists but its contents are not what the reader expects."""


# ----------------------------------------------------------------------------------------- IDX

# type code -> big-endian numpy dtype, as in the IDX format description
_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}
_IDX_START = ("an IDX file starts with two zero bytes, a type code (0x08 uint8, 0x09 int8, "
              "0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of dimensions")
_GZIP_MAGIC = b"\x1f\x8b"


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) or "nothing"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _read_bytes(path: Path, size: int = -1) -> bytes:
    """The (decompressed when gzip) bytes of ``path``: all of them, or at most ``size``."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if not _is_gzip(path):
        with open(path, "rb") as f:
            return f.read(size)
    try:
        with gzip.open(path, "rb") as f:
            return f.read(size)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated gzip stream ({err}); the file starts like "
                        f"gzip (1f 8b) but cannot be decompressed: download it again") from None


def _parse_header(path: Path, head: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """(big-endian dtype, shape, header length) from the first bytes of an IDX file."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number): found {_hex(head[:4])}, "
                        f"but {_IDX_START}; check that the path names an IDX file (raw or .gz), "
                        f"e.g. train-images-idx3-ubyte.gz, and download it again if it is damaged")
    ndim = head[3]
    n_header = 4 + 4 * ndim
    if len(head) < n_header:
        raise DataError(f"{path}: truncated IDX header: {ndim} dimensions need {n_header} header "
                        f"bytes, found {len(head)}; the file is cut short: download it again")
    shape = struct.unpack(f">{ndim}I", head[4:n_header])
    return _IDX_TYPES[head[2]], tuple(int(s) for s in shape), n_header


def _idx_header(path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """Native dtype and shape of an IDX file, reading only its header (cheap on large files)."""
    head = _read_bytes(path, 4)
    if len(head) == 4 and head[0] == 0 and head[1] == 0:
        head = _read_bytes(path, 4 + 4 * head[3])
    dtype, shape, _ = _parse_header(path, head)
    return dtype.newbyteorder("="), shape


def read_idx(path) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed, told apart by the gzip magic bytes 1f 8b).

    Returns a new, writable array with the shape of the header and the file's element type in
    native byte order (uint8, int8, int16, int32, float32 or float64). Raises
    ``FileNotFoundError`` for a missing file and ``DataError`` for a bad magic number, an
    unknown type code, a corrupt gzip stream, or a size that differs from what the header
    promises (truncated file or trailing bytes).
    """
    path = Path(path)
    raw = _read_bytes(path)
    dtype, shape, n_header = _parse_header(path, raw)
    expected = n_header + math.prod(shape) * dtype.itemsize
    where = " (after decompression)" if _is_gzip(path) else ""
    shape_txt = f"shape {shape} of {dtype.newbyteorder('=').name}"
    if len(raw) < expected:
        raise DataError(f"{path}: truncated IDX file: the header promises {shape_txt}, i.e. "
                        f"{expected} bytes in all, but found {len(raw)} bytes{where} "
                        f"({expected - len(raw)} missing); the download was probably cut short: "
                        f"download the file again")
    if len(raw) > expected:
        raise DataError(f"{path}: {len(raw) - expected} extra bytes after the data: the header "
                        f"promises {shape_txt}, i.e. expected {expected} bytes in all, but found "
                        f"{len(raw)}{where}; the file is damaged or not the file its name says: "
                        f"download it again")
    data = np.frombuffer(raw, dtype=dtype, offset=n_header)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def write_idx(path, array) -> Path:
    """Write ``array`` as one IDX file; gzip-compressed when ``path`` ends with ``.gz``.

    ``array`` must have 1 to 255 dimensions and one of the IDX element types: uint8, int8,
    int16, int32, float32 or float64 (cast first, e.g. ``labels.astype(np.uint8)``). Returns
    the path. The gzip header carries no time stamp, so equal arrays give equal files.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        allowed = ", ".join(dt.name for dt in _IDX_CODES)
        raise ValueError(f"write_idx: dtype {array.dtype} has no IDX type code; allowed: "
                         f"{allowed} (cast first, e.g. array.astype(np.uint8))")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: an IDX array needs 1 to 255 dimensions, got {array.ndim}")
    if any(s >= 2 ** 32 for s in array.shape):
        raise ValueError(f"write_idx: sizes must fit in 32 bits, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


# ------------------------------------------------------------------------------------ Dataset

@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set split into a training and a test (held-out) part.

    ``x_train``, ``x_test``: float32 arrays (N, D) with values in [0, 1], one flattened image
    a row; ``y_train``, ``y_test``: int64 arrays (N,) of class indices in [0, n_classes).
    ``source`` is the directory the files were read from.
    """

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str = ""
    n_classes: int = 10

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, x_train={self.x_train.shape}, "
                f"x_test={self.x_test.shape}, n_classes={self.n_classes}, source={self.source!r})")


def validation_split(ds: Dataset, n_validation: int) -> Dataset:
    """The tuning set of `ds`: its training images but the last `n_validation` train, those are held
    out (the held-out images of `ds` are not touched); named ``<name>-validation``."""
    n_fit = len(ds.x_train) - int(n_validation)
    if not 0 < n_fit < len(ds.x_train):
        raise ValueError(f"n_validation={n_validation} must leave training images in {ds.name} "
                         f"({len(ds.x_train)} training images)")
    return Dataset(f"{ds.name}-validation", ds.x_train[:n_fit], ds.y_train[:n_fit], ds.x_train[n_fit:],
                   ds.y_train[n_fit:], ds.source, ds.n_classes)


def one_hot(labels, n_classes: int = 10) -> np.ndarray:
    """One-hot code of integer ``labels`` (N,) in [0, n_classes): float32 array (N, n_classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"one_hot: labels must be a 1-D integer array, got {labels.ndim}-D "
                         f"{labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {n_classes}), found "
                         f"[{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, n_classes), dtype=np.float32)
    out[np.arange(labels.size), labels] = 1.0
    return out


# -------------------------------------------------------------------------------------- MNIST

MNIST_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
               "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
OFFLINE_N_TRAIN = 8000   # offline split: the first 8,000 test images train, the rest are held out


def _directory(directory, needs: str) -> Path:
    directory = Path(directory).expanduser()
    if not directory.exists():
        raise FileNotFoundError(f"data directory {directory} does not exist; it must hold {needs}")
    if not directory.is_dir():
        raise NotADirectoryError(f"data path {directory} is not a directory")
    return directory


def _find_mnist(directory: Path, keys) -> tuple[dict[str, Path], list[str]]:
    """The path of each wanted MNIST file (raw preferred over .gz), and the names not found."""
    found, missing = {}, []
    for key in keys:
        base = MNIST_FILES[key]
        for name in (base, base + ".gz"):
            if (directory / name).is_file():
                found[key] = directory / name
                break
        else:
            missing.append(base)
    return found, missing


def _check_images(path: Path, dtype, shape) -> None:
    if len(shape) != 3 or dtype != np.uint8:
        raise DataError(f"{path}: expected 3-D uint8 images (N, rows, cols), found "
                        f"{len(shape)}-D {dtype.name} with shape {shape}; is this an images file?")


def _check_labels(path: Path, dtype, shape) -> None:
    if len(shape) != 1 or dtype != np.uint8:
        raise DataError(f"{path}: expected 1-D uint8 labels (N,), found {len(shape)}-D "
                        f"{dtype.name} with shape {shape}; is this a labels file?")


def _check_pair(images: Path, labels: Path) -> tuple[int, ...]:
    """Check the headers of one images/labels pair; returns the images' shape."""
    i_dtype, i_shape = _idx_header(images)
    _check_images(images, i_dtype, i_shape)
    l_dtype, l_shape = _idx_header(labels)
    _check_labels(labels, l_dtype, l_shape)
    if i_shape[0] != l_shape[0]:
        raise DataError(f"{labels.name} holds {l_shape[0]} labels but {images.name} holds "
                        f"{i_shape[0]} images (in {images.parent}); the two files must come "
                        f"from the same set: download them again")
    return i_shape


def _read_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 (N, rows*cols) in [0, 1] and labels as int64 (N,), checked."""
    y = read_idx(labels)
    bad = (y > 9)
    if bad.any():
        raise DataError(f"{labels}: labels must be digits 0-9, found {int(y[bad][0])} at index "
                        f"{int(np.flatnonzero(bad)[0])}; is this an MNIST labels file?")
    x = read_idx(images)
    x = x.reshape(len(x), -1).astype(np.float32)
    x /= np.float32(255.0)
    return x, y.astype(np.int64)


def load_mnist(directory, name: str = "mnist") -> Dataset:
    """MNIST (or Fashion-MNIST, which uses the same file names) from its four IDX files.

    ``directory`` must hold ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or with ``.gz``.
    Returns a ``Dataset`` named ``name``: images float32 (N, rows*cols) in [0, 1] (N, 784 for
    28x28), labels int64 (N,). Raises ``FileNotFoundError`` listing every missing file, and
    ``DataError`` for files of the wrong kind, labels outside 0-9 or mismatched counts.
    """
    directory = _directory(directory, f"the four {name} files {', '.join(MNIST_FILES.values())}")
    found, missing = _find_mnist(directory, MNIST_FILES)
    if missing:
        message = (f"{name}: {directory} lacks {', '.join(missing)}; it must contain the four "
                   f"files {', '.join(MNIST_FILES.values())} (each raw or with .gz)")
        if set(missing) == {MNIST_FILES["train_images"], MNIST_FILES["train_labels"]}:
            message += (f"; only the two t10k test files are there: the offline split "
                        f"'mnist-offline:{directory}' uses just the test files")
        raise FileNotFoundError(message)
    _check_pair(found["train_images"], found["train_labels"])
    _check_pair(found["test_images"], found["test_labels"])
    x_train, y_train = _read_pair(found["train_images"], found["train_labels"])
    x_test, y_test = _read_pair(found["test_images"], found["test_labels"])
    return Dataset(name, x_train, y_train, x_test, y_test, source=str(directory))


def load_mnist_offline(directory) -> Dataset:
    """The offline MNIST benchmark split, made from the 10,000 test images alone.

    Reads only ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (raw or ``.gz``) and
    splits them in file order: the first 8,000 images train (``x_train`` (8000, 784)), the
    rest are held out (``x_test``, (2000, 784) for the standard test set). The split is fixed,
    not shuffled, so results are comparable between runs. Raises ``DataError`` when the file
    holds fewer than 8,001 images.
    """
    directory = _directory(directory, f"the MNIST test files {MNIST_FILES['test_images']} and "
                                      f"{MNIST_FILES['test_labels']}")
    found, missing = _find_mnist(directory, ("test_images", "test_labels"))
    if missing:
        raise FileNotFoundError(f"mnist-offline: {directory} lacks {', '.join(missing)}; the "
                                f"offline split needs the two MNIST test files "
                                f"{MNIST_FILES['test_images']} and {MNIST_FILES['test_labels']} "
                                f"(each raw or with .gz)")
    shape = _check_pair(found["test_images"], found["test_labels"])
    if shape[0] <= OFFLINE_N_TRAIN:
        raise DataError(f"mnist-offline: {found['test_images']} holds {shape[0]} images, but the "
                        f"offline split needs at least {OFFLINE_N_TRAIN + 1} (the first "
                        f"{OFFLINE_N_TRAIN} train, the rest are held out); use the full MNIST "
                        f"test set of 10,000 images")
    x, y = _read_pair(found["test_images"], found["test_labels"])
    n = OFFLINE_N_TRAIN
    return Dataset("mnist-offline", x[:n].copy(), y[:n].copy(), x[n:].copy(), y[n:].copy(),
                   source=str(directory))


# ----------------------------------------------------------------------------------- CIFAR-10

CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_CIFAR_ROW = 3 * 32 * 32
# the only globals a CIFAR-10 batch pickle refers to (numpy arrays, and bytes in protocol 2)
_PICKLE_GLOBALS = {("_codecs", "encode"), ("numpy", "ndarray"), ("numpy", "dtype"),
                   ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
                   ("numpy.core.numeric", "_frombuffer"), ("numpy._core.multiarray", "_reconstruct"),
                   ("numpy._core.multiarray", "scalar"), ("numpy._core.numeric", "_frombuffer")}


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds only numpy arrays and plain Python data: a pickle that names any
    other global (and so could run code) is refused."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR-10 batch "
                                         f"never does (refused: loading it could run code)")
        if module.startswith("numpy.core."):   # numpy >= 2 renamed numpy.core to numpy._core
            try:
                return super().find_class("numpy._core." + module[len("numpy.core."):], name)
            except (ImportError, AttributeError):
                pass
        return super().find_class(module, name)


def _cifar_dir(directory: Path) -> Path:
    nested = directory / "cifar-10-batches-py"
    return nested if nested.is_dir() else directory


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: uint8 images (N, 3072) and int64 labels (N,), checked."""
    try:
        with open(path, "rb") as f:
            batch = _BatchUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, ImportError, MemoryError) as err:
        raise DataError(f"{path}: not a CIFAR-10 batch: it is not a readable pickle ({err}); "
                        f"download and unpack cifar-10-python.tar.gz again") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: not a CIFAR-10 batch: the pickle holds a "
                        f"{type(batch).__name__}, expected a dict with keys b'data' and "
                        f"b'labels'")
    values = {}
    for key in ("data", "labels"):
        for k in (key.encode(), key):
            if k in batch:
                values[key] = batch[k]
                break
        else:
            raise DataError(f"{path}: not a CIFAR-10 batch: its dict lacks the key "
                            f"{key.encode()!r} (keys found: {sorted(map(repr, batch))}); "
                            f"download and unpack cifar-10-python.tar.gz again")
    data = np.asarray(values["data"])
    labels = np.asarray(values["labels"])
    if data.ndim != 2 or data.shape[1] != _CIFAR_ROW or data.dtype != np.uint8:
        raise DataError(f"{path}: b'data' must be a uint8 array (N, {_CIFAR_ROW}) (3x32x32 "
                        f"channel-major RGB a row), found {data.dtype} with shape {data.shape}")
    if labels.ndim != 1 or len(labels) != len(data):
        raise DataError(f"{path}: b'data' holds {len(data)} images but b'labels' holds "
                        f"{labels.size} labels; they must match one to one")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer)
                        or labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: b'labels' must be integers 0-9, found {labels.dtype} values "
                        f"{labels[:5].tolist()}...")
    return data, labels.astype(np.int64)


def load_cifar10(directory) -> Dataset:
    """CIFAR-10 from its "python version" batches ``data_batch_1`` ... ``data_batch_5`` and
    ``test_batch``, in ``directory`` or in ``directory/cifar-10-batches-py``.

    Returns a ``Dataset``: images float32 (N, 3072) in [0, 1], each row in the files'
    channel-major order (1024 red, then 1024 green, then 1024 blue values, each a 32x32 image
    row by row; ``x.reshape(-1, 3, 32, 32)`` restores them); labels int64 (N,). The pickles are
    read with an unpickler that builds only numpy arrays and plain data.
    """
    directory = _cifar_dir(_directory(directory, f"the CIFAR-10 batches {', '.join(CIFAR10_FILES)}"
                                                 f" or a cifar-10-batches-py/ directory of them"))
    missing = [name for name in CIFAR10_FILES if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"cifar10: {directory} lacks {', '.join(missing)}; give the "
                                f"directory holding {', '.join(CIFAR10_FILES)} (the unpacked "
                                f"cifar-10-python.tar.gz) or its parent holding "
                                f"cifar-10-batches-py/")
    train = [_read_batch(directory / name) for name in CIFAR10_FILES[:-1]]
    x_test, y_test = _read_batch(directory / CIFAR10_FILES[-1])
    x_train = np.concatenate([x for x, _ in train]).astype(np.float32)
    x_train /= np.float32(255.0)
    x_test = x_test.astype(np.float32)
    x_test /= np.float32(255.0)
    y_train = np.concatenate([y for _, y in train])
    return Dataset("cifar10", x_train, y_train, x_test, y_test, source=str(directory))


# ---------------------------------------------------------------------------------- load(spec)

SPECS = {"mnist": lambda d: load_mnist(d, "mnist"),
         "fashion-mnist": lambda d: load_mnist(d, "fashion-mnist"),
         "mnist-offline": load_mnist_offline,
         "cifar10": load_cifar10}
_FORMS = ("mnist:DIR, fashion-mnist:DIR, mnist-offline:DIR, cifar10:DIR "
          "(e.g. mnist-offline:../shared/data/mnist)")


def load(spec: str) -> Dataset:
    """The data set named by ``spec``: ``"mnist:DIR"``, ``"fashion-mnist:DIR"``,
    ``"mnist-offline:DIR"`` or ``"cifar10:DIR"``, DIR the directory of the files."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"data set {spec!r} must have the form KIND:DIR; allowed forms: {_FORMS}")
    kind, directory = spec.split(":", 1)
    kind = kind.strip().lower()
    if kind not in SPECS:
        raise ValueError(f"unknown data set kind {kind!r} in {spec!r}; allowed forms: {_FORMS}")
    if not directory.strip():
        raise ValueError(f"data set {spec!r} names no directory after ':'; allowed forms: {_FORMS}")
    return SPECS[kind](directory.strip())


def offline_mnist_dir() -> Path | None:
    """The shared offline MNIST test files, ``../shared/data/mnist`` relative to the repository
    root, or None when that directory does not exist."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
    return path if path.is_dir() else None


# ----------------------------------------------------------------------------------- Yin-Yang

YIN_YANG_CLASSES = ("yang", "yin", "dot")
"""Class names by index: Kriener et al.'s ``which_class`` gives 1 where its criterion ``is_yin`` holds, 0 elsewhere
in the disk, and 2 in the two small dots (which override both)."""
YIN_YANG_SPLITS = {"train": (5000, 42), "validation": (1000, 41), "test": (1000, 40)}
"""The standard sizes of Kriener et al. 2021 (5000 / 1000 / 1000) with the seeds of their data set code; the draws
here use numpy's ``default_rng`` and are not bitwise those of the original's ``RandomState``."""


def yin_yang_class(x, y, r_small: float = 0.1, r_big: float = 0.5) -> np.ndarray:
    """Class (0 yang, 1 yin, 2 dot) of the points (x, y) of the yin-yang figure of Kriener et al. 2021: a disk
    of radius r_big centred at (r_big, r_big); the dots are disks of radius r_small around (r_big/2, r_big) and
    (3 r_big/2, r_big). Points outside the big disk get the class their formula gives (callers mask them)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    is_yin = ((d_right <= r_small) | ((d_left > r_small) & (d_left <= 0.5 * r_big))
              | ((y > r_big) & (d_right > 0.5 * r_big)))
    cls = is_yin.astype(np.int64)
    cls[(d_right < r_small) | (d_left < r_small)] = 2
    return cls


def yin_yang(size: int = 1000, seed: int = 42, r_small: float = 0.1, r_big: float = 0.5) -> tuple[np.ndarray,
                                                                                                      np.ndarray]:
    """The Yin-Yang data set (Kriener, Göltz, Petrovici 2021, "The Yin-Yang dataset", doi:10.1145/3517343.3517380):
    ``size`` points, each of a class drawn uniformly from (yang, yin, dot) and then placed uniformly at random in
    that class's region of the disk (rejection sampling), as inputs (x, y, 1 - x, 1 - y) in [0, 2 r_big] (float64,
    shape (size, 4)) and labels (int64, shape (size,); see ``YIN_YANG_CLASSES``). Its own generator
    ``default_rng(seed)``: the global numpy random state is left alone. Standard splits: ``YIN_YANG_SPLITS``."""
    size = int(size)
    if size < 1:
        raise ValueError(f"yin_yang: size={size} must be >= 1")
    if not 0 < r_small < 0.5 * r_big:
        raise ValueError(f"yin_yang: need 0 < r_small < r_big / 2 (the dots inside the eyes), got r_small={r_small}, "
                         f"r_big={r_big}")
    rng = np.random.default_rng(int(seed))
    labels = rng.integers(0, 3, size)
    points = np.empty((size, 2))
    for c in range(3):
        need = np.flatnonzero(labels == c)
        found = []
        while sum(len(f) for f in found) < len(need):
            cand = rng.random((4 * len(need) + 64, 2)) * 2 * r_big
            inside = np.hypot(cand[:, 0] - r_big, cand[:, 1] - r_big) <= r_big
            cand = cand[inside]
            found.append(cand[yin_yang_class(cand[:, 0], cand[:, 1], r_small, r_big) == c])
        points[need] = np.concatenate(found)[:len(need)]
    x = np.column_stack([points, 2 * r_big - points])
    return x, labels
