"""Issue 17: hostile inputs to the Python package get clear exceptions, never a
PanicException, a silent truncation or a mismatched result."""

import json
import struct

import numpy as np
import pytest

import tbnsim
from conftest import DATA


@pytest.fixture(scope="module")
def cnn_program_json(tmp_path_factory):
    model = tbnsim.load_model(DATA / "models" / "cnn_16c3_p2_32c3_p2_fc128_10_p4.json")
    calib = tbnsim.read_mnist(DATA / "mnist" / "train10k-images-idx3-ubyte.gz", count=20)
    program = tbnsim.quantize(model, calib.reshape(20, -1) / 255.0, act_bits=8)
    path = tmp_path_factory.mktemp("prog") / "cnn.json"
    program.save(str(path))
    return json.loads(path.read_text())


def _load(tmp_path, doc):
    p = tmp_path / "p.json"
    p.write_text(json.dumps(doc))
    return tbnsim.load_program(p)


def _stage(doc, kind):
    return next(i for i, s in enumerate(doc["stages"]) if s["kind"] == kind)


@pytest.mark.parametrize("case", ["maxpool_stride_0", "conv_stride_0", "shapes_do_not_chain"])
def test_program_json_that_would_panic_is_refused_at_load(tmp_path, cnn_program_json, case):
    doc = json.loads(json.dumps(cnn_program_json))
    if case == "maxpool_stride_0":
        doc["stages"][_stage(doc, "max_pool")]["stride"] = 0
    elif case == "conv_stride_0":
        doc["stages"][0]["conv"]["stride"] = 0
    else:
        doc["input"]["shape"] = [1, 28, 27]
    try:
        _load(tmp_path, doc)
    except BaseException as e:  # noqa: B036 - a PanicException is a BaseException
        assert isinstance(e, tbnsim.GoldenError), f"{type(e).__name__}: {e}"
    else:
        pytest.fail("the program was accepted")


def test_valid_program_still_loads_and_runs(tmp_path, cnn_program_json):
    p = _load(tmp_path, cnn_program_json)
    assert len(p.run([0] * 784)) == 10


@pytest.mark.parametrize("offset", [0x2, 0x100000, 0x100000 + 0x30, 0xFFFFFFFC])
def test_register_access_outside_the_window_is_refused(accelerator, offset):
    with pytest.raises(ValueError):
        accelerator.write32(offset, 0x12345678)
    with pytest.raises(ValueError):
        accelerator.read32(offset)


def test_register_bursts_past_the_map_are_refused(accelerator):
    # The Rust API's range check (shared with the driver), not a copy in the wrapper.
    native = accelerator.native
    with pytest.raises(ValueError, match="outside"):
        native.write_words(0x100000 - 4, [1, 2])
    with pytest.raises(ValueError, match="outside"):
        native.read_words(0x100000 - 4, 2)
    with pytest.raises(ValueError, match="aligned"):
        native.read_words(0x2, 1)


def test_compress_refuses_a_fractional_p():
    w = np.ones((4, 8), dtype=np.float32)
    with pytest.raises(TypeError, match="p must be an integer"):
        tbnsim.compress(w, p=4.7)
    with pytest.raises(ValueError):
        tbnsim.compress(w, p=0)
    assert tbnsim.compress(w, p=np.int64(4)).p == 4


def _idx(path, dims, data):
    path.write_bytes(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
                     + bytes(data))


def test_read_mnist_refuses_images_and_labels_that_do_not_pair(tmp_path):
    im, lb = tmp_path / "i.idx", tmp_path / "l.idx"
    _idx(im, [5, 2, 2], range(20))
    _idx(lb, [4], range(4))
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        tbnsim.read_mnist(im, lb)
    _idx(lb, [5], range(5))
    images, labels = tbnsim.read_mnist(im, lb, count=3)
    assert images.shape == (3, 2, 2) and labels.tolist() == [0, 1, 2]


def test_requantize_refuses_accumulators_no_input_can_give(cnn_program_json, tmp_path):
    stage = _load(tmp_path, cnn_program_json).dense_stages[-1]
    d = stage.distinct_rows
    with pytest.raises(ValueError, match="exceeds m"):
        stage.requantize([(2**31 - 1, 0)] * d)
    assert len(stage.requantize([(1, 0)] * d)) == stage.rows
