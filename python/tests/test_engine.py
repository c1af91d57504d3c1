"""The whole-network engine RTL from Python (`tbnsim.Engine`): a model image
loaded once through the firmware driver, one INFER per input, logits and class
equal to the golden integer path; misuse raises with the cause named."""

from pathlib import Path

import pytest

import tbnsim

ROOT = Path(__file__).resolve().parents[2]


def _program(path, act_bits=8):
    """The MNIST program of a model, calibrated as the Rust side does
    (`tbn_host::mnist`): 200 training images, input scale 1/255."""
    calib = tbnsim.read_mnist(ROOT / "data/mnist/train10k-images-idx3-ubyte.gz", count=200)
    model = tbnsim.load_model(ROOT / path)
    return tbnsim.quantize(model, calib.reshape(200, -1) / 255.0, act_bits=act_bits,
                           input_scale=1.0 / 255.0)


def _test_images(n):
    images = tbnsim.read_mnist(ROOT / "data/mnist/t10k-images-idx3-ubyte.gz", count=n)
    return [img.reshape(-1).astype(int).tolist() for img in images]


def _argmax(v):
    return max(range(len(v)), key=lambda i: (v[i], -i))


@pytest.mark.parametrize("link", ["wishbone", "spi"])
def test_reference_mlp_bit_exact(link):
    program = _program("data/reference/tbn_mnist_mlp_p4.json")
    eng = tbnsim.Engine(32, link=link)
    info = eng.load_model(program)
    assert (info["layers"], info["num_in"], info["num_out"]) == (2, 784, 10)
    for x in _test_images(3):
        want = program.run(x)
        logits, cls = eng.infer(x)
        assert list(logits) == list(want)
        assert cls == _argmax(want)
    assert len(eng.layer_cycles()) == 2


def test_lfc_size_mlp_on_the_up5k_configuration():
    program = _program("data/models/mlp_784_1024_1024_1024_10_p16_w1a2_ubn.json", act_bits=2)
    eng = tbnsim.Engine(32, capacities="up5k")
    assert eng.target["tile_max"] == 131072
    eng.load_model(program)
    x = _test_images(1)[0]
    logits, cls = eng.infer(x)
    assert list(logits) == list(program.run(x))
    assert sum(eng.layer_cycles()) > 0


def test_misuse_raises_with_the_cause():
    eng = tbnsim.Engine(32)
    with pytest.raises(tbnsim.AcceleratorError, match="(?i)model"):
        eng.infer([0] * 784)
    eng.load_model(_program("data/reference/tbn_mnist_mlp_p4.json"))
    with pytest.raises(tbnsim.AcceleratorError):
        eng.infer([0] * 783)
    with pytest.raises(tbnsim.AcceleratorError):
        eng.infer([256] + [0] * 783)
    big = _program("data/models/mlp_784_1024_1024_1024_10_p8_w1a2.json", act_bits=2)
    with pytest.raises(ValueError, match="needs"):
        eng.load_model(big)
    with pytest.raises(ValueError, match="capacities"):
        tbnsim.Engine(32, capacities="map")


def test_cnn_on_the_reference_backend_and_the_rtl():
    """Issue 13 item 5: the trained CNN (model image format 2: conv and
    max-pool layers) through the driver on the engine's reference model and
    on the default engine RTL (feature maps), logits equal golden; the UP5K
    configuration (no feature maps yet) refuses it, naming the capacity."""
    program = _program("data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json")
    eng = tbnsim.Engine(32, capacities="map", backend="reference")
    assert eng.target["max_fmap"] > 0
    info = eng.load_model(program)
    assert (info["layers"], info["num_in"], info["num_out"]) == (6, 784, 10)
    for x in _test_images(3):
        want = program.run(x)
        logits, cls = eng.infer(x)
        assert list(logits) == list(want)
        assert cls == _argmax(want)
    rtl = tbnsim.Engine(32)
    assert rtl.target["max_fmap"] == 32768
    assert rtl.load_model(program)["layers"] == 6
    for x in _test_images(2):
        logits, cls = rtl.infer(x)
        assert list(logits) == list(program.run(x))
    up5k = tbnsim.Engine(32, capacities="up5k")
    assert up5k.target["max_fmap"] == 0
    with pytest.raises(ValueError, match="CFG_MAX_FMAP"):
        up5k.load_model(program)
    with pytest.raises(ValueError, match="backend"):
        tbnsim.Engine(32, backend="fpga")
