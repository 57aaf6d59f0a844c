"""Data set readers: IDX round trips, clear errors for damaged or missing files, synthetic MNIST
and CIFAR-10 directories, and the shared offline MNIST split."""

import gzip
import pickle

import numpy as np
import pytest

from burstsim import data
from burstsim.data import DataError

RNG = np.random.default_rng(7)


def snapshot(directory):
    """Names, sizes and contents of every file under ``directory`` (to show reading writes nothing)."""
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def make_mnist(directory, n_train=50, n_test=20, gz=True, rows=28, cols=28, only_test=False):
    """A synthetic MNIST directory; returns the arrays written."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {"t10k-images-idx3-ubyte": RNG.integers(0, 256, (n_test, rows, cols), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": RNG.integers(0, 10, n_test, dtype=np.uint8)}
    if not only_test:
        arrays["train-images-idx3-ubyte"] = RNG.integers(0, 256, (n_train, rows, cols), dtype=np.uint8)
        arrays["train-labels-idx1-ubyte"] = RNG.integers(0, 10, n_train, dtype=np.uint8)
    for name, array in arrays.items():
        data.write_idx(directory / (name + (".gz" if gz else "")), array)
    return arrays


def make_cifar(directory, rows=7):
    """Synthetic CIFAR-10 batches of ``rows`` images each; returns {name: (data, labels)}."""
    directory.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in data.CIFAR10_FILES:
        x = RNG.integers(0, 256, (rows, 3072), dtype=np.uint8)
        y = [int(v) for v in RNG.integers(0, 10, rows)]
        with open(directory / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"data": x, b"labels": y}, f, protocol=2)
        batches[name] = (x, y)
    return batches


# ----------------------------------------------------------------------------------- IDX files

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype, shape", [(np.uint8, (5, 28, 28)), (np.uint8, (13,)),
                                          (np.int8, (4, 3)), (np.int16, (2, 3, 4)),
                                          (np.int32, (6, 2)), (np.float32, (3, 5, 2, 2)),
                                          (np.float64, (7,)), (np.uint8, (0, 28, 28))])
def test_idx_round_trip(tmp_path, suffix, dtype, shape):
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = RNG.integers(info.min, int(info.max) + 1, shape).astype(dtype)
    else:
        array = (RNG.standard_normal(shape) * 1e3).astype(dtype)
    path = data.write_idx(tmp_path / f"a-idx{suffix}", array)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")
    if suffix == "":
        assert len(raw) == 4 + 4 * len(shape) + array.nbytes
    back = data.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == shape
    np.testing.assert_array_equal(back, array)
    back[...] = 0   # a writable copy


def test_idx_header_is_big_endian(tmp_path):
    path = data.write_idx(tmp_path / "x", np.array([1, 258], dtype=np.int32))
    assert path.read_bytes() == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 2])


def test_gzip_told_by_magic_not_suffix(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz = data.write_idx(tmp_path / "a.gz", array)
    raw = data.write_idx(tmp_path / "b", array)
    (tmp_path / "gz-without-suffix").write_bytes(gz.read_bytes())
    (tmp_path / "raw-with-suffix.gz").write_bytes(raw.read_bytes())
    np.testing.assert_array_equal(data.read_idx(tmp_path / "gz-without-suffix"), array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "raw-with-suffix.gz"), array)


def test_write_idx_rejects_dtype_without_code(tmp_path):
    with pytest.raises(ValueError, match=r"int64 has no IDX type code.*uint8"):
        data.write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("head, found", [(b"PK\x03\x04", "50 4b 03 04"),
                                         (b"\x00\x00\x07\x01", "00 00 07 01"),
                                         (b"\x00", "00")])
def test_bad_magic(tmp_path, head, found):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(head + bytes(20))
    if len(head) < 4:
        path.write_bytes(head)
    with pytest.raises(DataError, match="magic") as err:
        data.read_idx(path)
    message = str(err.value)
    assert "images-idx3-ubyte" in message and found in message and "two zero bytes" in message


def test_truncated_file(tmp_path):
    path = data.write_idx(tmp_path / "t-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    expected = 16 + 3 * 28 * 28
    with pytest.raises(DataError, match=rf"truncated.*{expected} bytes.*found {expected - 10} bytes"
                       ) as err:
        data.read_idx(path)
    assert "t-idx3-ubyte" in str(err.value) and "10 missing" in str(err.value)


def test_truncated_header(tmp_path):
    path = tmp_path / "h"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 1]))
    with pytest.raises(DataError, match=r"truncated IDX header.*16 header bytes, found 8"):
        data.read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = data.write_idx(tmp_path / "t.gz", RNG.integers(0, 256, (20, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"t\.gz.*corrupt or truncated gzip"):
        data.read_idx(path)


def test_gzip_of_truncated_idx(tmp_path):
    full = data.write_idx(tmp_path / "raw", np.zeros((2, 4, 4), np.uint8)).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(full[:-10]))
    with pytest.raises(DataError, match=r"cut\.gz.*48 bytes.*found 38 bytes \(after decompression\)"):
        data.read_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    raw = bytearray(data.write_idx(tmp_path / "c.gz", np.arange(256, dtype=np.uint8)).read_bytes())
    raw[12:20] = b"\xff" * 8
    (tmp_path / "c.gz").write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"c\.gz.*gzip"):
        data.read_idx(tmp_path / "c.gz")


def test_trailing_bytes(tmp_path):
    path = data.write_idx(tmp_path / "t", np.zeros(5, np.uint8))
    path.write_bytes(path.read_bytes() + b"xyz")
    with pytest.raises(DataError, match=r"3 extra bytes.*expected 13 bytes.*found 16"):
        data.read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        data.read_idx(tmp_path / "nothing-here")


# --------------------------------------------------------------------------------------- MNIST

@pytest.mark.parametrize("gz", [True, False])
def test_synthetic_mnist(tmp_path, gz):
    arrays = make_mnist(tmp_path / "m", gz=gz)
    before = snapshot(tmp_path)
    ds = data.load(f"mnist:{tmp_path / 'm'}")
    assert snapshot(tmp_path) == before, "reading must write nothing"
    assert ds.name == "mnist" and ds.n_classes == 10 and ds.source == str(tmp_path / "m")
    assert ds.x_train.shape == (50, 784) and ds.x_test.shape == (20, 784)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() <= 1.0
    np.testing.assert_array_equal(ds.y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])
    np.testing.assert_allclose(ds.x_test * 255, arrays["t10k-images-idx3-ubyte"].reshape(20, 784),
                               atol=1e-4)
    assert "x_train=(50, 784)" in repr(ds)


def test_fashion_mnist_and_general_image_size(tmp_path):
    make_mnist(tmp_path, n_train=4, n_test=3, rows=5, cols=7)
    ds = data.load(f"fashion-mnist:{tmp_path}")
    assert ds.name == "fashion-mnist" and ds.x_train.shape == (4, 35) and ds.x_test.shape == (3, 35)


def test_label_count_mismatch(tmp_path):
    make_mnist(tmp_path, n_train=50, n_test=20)
    data.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(49, np.uint8))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz holds 49 labels but "
                                        r"train-images-idx3-ubyte\.gz holds 50 images"):
        data.load_mnist(tmp_path)


def test_count_mismatch_found_before_reading_images(tmp_path):
    # the images file is also truncated, but the header check of the counts fails first
    make_mnist(tmp_path, gz=False)
    images = tmp_path / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:100])
    data.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(21, np.uint8))
    with pytest.raises(DataError, match=r"21 labels.*20 images"):
        data.load_mnist(tmp_path)


def test_labels_out_of_range(tmp_path):
    make_mnist(tmp_path)
    data.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(20, 10, np.uint8))
    with pytest.raises(DataError, match=r"digits 0-9, found 10 at index 0"):
        data.load_mnist(tmp_path)


def test_images_and_labels_swapped(tmp_path):
    make_mnist(tmp_path)
    a, b = tmp_path / "train-images-idx3-ubyte.gz", tmp_path / "train-labels-idx1-ubyte.gz"
    ra, rb = a.read_bytes(), b.read_bytes()
    a.write_bytes(rb)
    b.write_bytes(ra)
    with pytest.raises(DataError, match=r"expected 3-D uint8 images.*found 1-D uint8"):
        data.load_mnist(tmp_path)


def test_missing_files(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as err:
        data.load(f"mnist:{tmp_path}")
    message = str(err.value)
    assert "lacks train-images-idx3-ubyte, t10k-labels-idx1-ubyte" in message
    assert "must contain the four files" in message and "mnist-offline" not in message


def test_only_test_files_hint_offline(tmp_path):
    make_mnist(tmp_path, only_test=True)
    with pytest.raises(FileNotFoundError, match=rf"train-images.*train-labels.*mnist-offline:{tmp_path}"):
        data.load(f"mnist:{tmp_path}")


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent does not exist; it must hold the four mnist"):
        data.load(f"mnist:{tmp_path / 'absent'}")
    with pytest.raises(FileNotFoundError, match=r"absent does not exist; it must hold the CIFAR-10"):
        data.load(f"cifar10:{tmp_path / 'absent'}")


def test_offline_split_synthetic(tmp_path):
    arrays = make_mnist(tmp_path, n_test=8003, only_test=True)
    ds = data.load(f"mnist-offline:{tmp_path}")
    assert ds.x_train.shape == (8000, 784) and ds.x_test.shape == (3, 784)
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"][8000:])


def test_offline_split_needs_8001_images(tmp_path):
    make_mnist(tmp_path, n_test=8000, only_test=True)
    with pytest.raises(DataError, match=r"holds 8000 images.*at least 8001"):
        data.load_mnist_offline(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"):
        data.load_mnist_offline(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=r"absent does not exist; it must hold the MNIST test"):
        data.load_mnist_offline(tmp_path / "absent")


# ------------------------------------------------------------------------------------ CIFAR-10

@pytest.mark.parametrize("nested", [False, True])
def test_synthetic_cifar10(tmp_path, nested):
    batch_dir = tmp_path / "cifar-10-batches-py" if nested else tmp_path
    batches = make_cifar(batch_dir)
    before = snapshot(tmp_path)
    ds = data.load(f"cifar10:{tmp_path}")
    assert snapshot(tmp_path) == before
    assert ds.name == "cifar10" and ds.source == str(batch_dir)
    assert ds.x_train.shape == (35, 3072) and ds.x_test.shape == (7, 3072)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    expected_x = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    expected_y = sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    np.testing.assert_allclose(ds.x_train * 255, expected_x, atol=1e-4)
    np.testing.assert_array_equal(ds.y_train, expected_y)
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][1])
    np.testing.assert_allclose(ds.x_test[3, :1024] * 255, batches["test_batch"][0][3, :1024],
                               atol=1e-4)   # channel-major: the first 1024 values are red


def test_cifar10_highest_protocol_and_str_keys(tmp_path):
    make_cifar(tmp_path, rows=2)
    x = RNG.integers(0, 256, (4, 3072), dtype=np.uint8)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({"data": x, "labels": [0, 1, 2, 9]}, f, protocol=pickle.HIGHEST_PROTOCOL)
    ds = data.load_cifar10(tmp_path)
    np.testing.assert_array_equal(ds.y_test, [0, 1, 2, 9])
    np.testing.assert_allclose(ds.x_test * 255, x, atol=1e-4)


def test_cifar10_missing_batches(tmp_path):
    make_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    (tmp_path / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks data_batch_3, test_batch;.*cifar-10-batches-py"):
        data.load(f"cifar10:{tmp_path}")


@pytest.mark.parametrize("content, message", [
    (b"this is not a pickle", r"data_batch_2: not a CIFAR-10 batch: it is not a readable pickle"),
    (pickle.dumps([1, 2, 3]), r"data_batch_2: .*holds a list, expected a dict"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}), r"data_batch_2: .*lacks the key b'labels'"),
    (pickle.dumps({b"labels": [1]}), r"data_batch_2: .*lacks the key b'data'"),
    (pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": [1, 2]}),
     r"data_batch_2: b'data' holds 3 images but b'labels' holds 2 labels"),
    (pickle.dumps({b"data": np.zeros((2, 1024), np.uint8), b"labels": [1, 2]}),
     r"data_batch_2: b'data' must be a uint8 array \(N, 3072\).*shape \(2, 1024\)"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 12]}),
     r"data_batch_2: b'labels' must be integers 0-9"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2], b"x": print}),
     r"data_batch_2: .*refers to builtins\.print.*refused"),
])
def test_cifar10_bad_batch(tmp_path, content, message):
    make_cifar(tmp_path)
    (tmp_path / "data_batch_2").write_bytes(content)
    with pytest.raises(DataError, match=message):
        data.load_cifar10(tmp_path)


# ---------------------------------------------------------------------------- load, one_hot

@pytest.mark.parametrize("spec", ["mnist", "imagenet:/tmp", "mnist:", "", "cifar:/tmp"])
def test_load_bad_spec(spec):
    with pytest.raises(ValueError, match=r"allowed forms: mnist:DIR.*mnist-offline:\.\./shared/data/mnist"):
        data.load(spec)


def test_one_hot():
    out = data.one_hot(np.array([0, 3, 9, 3]), 10)
    assert out.shape == (4, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(1), [0, 3, 9, 3])
    np.testing.assert_array_equal(out.sum(1), 1.0)
    with pytest.raises(ValueError, match=r"\[0, 3\), found \[0, 3\]"):
        data.one_hot([0, 3], 3)


# --------------------------------------------------------------------- shared offline MNIST

@pytest.fixture(scope="module")
def offline():
    directory = data.offline_mnist_dir()
    if directory is None:
        pytest.skip("the shared offline MNIST data (../shared/data/mnist) is not present")
    return data.load(f"mnist-offline:{directory}")


def test_offline_mnist_split(offline):
    assert offline.x_train.shape == (8000, 784) and offline.x_test.shape == (2000, 784)
    assert offline.y_train.shape == (8000,) and offline.y_test.shape == (2000,)
    assert offline.x_train.min() == 0.0 and offline.x_train.max() == 1.0
    mean = np.concatenate([offline.x_train, offline.x_test]).mean()
    assert 0.12 <= mean <= 0.14, mean
    assert 0.12 <= offline.x_train.mean() <= 0.14
    for labels in (offline.y_train, offline.y_test):
        np.testing.assert_array_equal(np.unique(labels), np.arange(10))
    # the well-known labels of the first ten MNIST test images
    np.testing.assert_array_equal(offline.y_train[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])


def test_validation_split_holds_out_the_last_training_images():
    from burstsim.data import Dataset, validation_split

    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    ds = Dataset("toy", x, np.arange(10), x[:3], np.arange(3), "here", 10)
    v = validation_split(ds, 4)
    assert v.name == "toy-validation" and v.x_train.shape == (6, 2) and v.n_classes == 10
    np.testing.assert_array_equal(v.x_test, x[6:])
    np.testing.assert_array_equal(v.y_test, np.arange(6, 10))
    with pytest.raises(ValueError, match="n_validation=10"):
        validation_split(ds, 10)
