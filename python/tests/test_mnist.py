"""A slice of MNIST through the reference model: float, integer (golden) and RTL."""

import numpy as np
import pytest

import tbnsim
from conftest import DATA

N_IMAGES = 50


@pytest.fixture(scope="module")
def mnist():
    model = tbnsim.load_model(DATA / "reference" / "tbn_mnist_mlp_p4.json")
    calib = tbnsim.read_mnist(DATA / "mnist" / "train10k-images-idx3-ubyte.gz", count=200)
    program = tbnsim.quantize(model, calib.reshape(200, -1) / 255.0, act_bits=8)
    images, labels = tbnsim.read_mnist(DATA / "mnist" / "t10k-images-idx3-ubyte.gz",
                                       DATA / "mnist" / "t10k-labels-idx1-ubyte.gz", count=N_IMAGES)
    return model, program, images, labels


def test_program_input_is_the_pixel_bytes(mnist):
    _, program, images, _ = mnist
    assert program.input_bits == 8 and not program.input_signed
    x = images[0].reshape(-1)
    assert program.quantize_input((x / 255.0).tolist()) == x.astype(int).tolist()


def test_mnist_slice_on_the_rtl_matches_golden(mnist, accelerator):
    model, program, images, labels = mnist
    xs = images.reshape(N_IMAGES, -1).astype(np.int64)
    rtl, stats = accelerator.run_program(program, xs)
    golden = np.asarray(program.run_batch(xs.ravel().tolist()), dtype=np.int64)
    assert rtl.shape == golden.shape == (N_IMAGES, 10)
    mismatch = np.nonzero((rtl != golden).any(axis=1))[0]
    assert mismatch.size == 0, f"images {mismatch.tolist()} differ between RTL and golden"
    int_acc = (rtl.argmax(axis=1) == labels).mean()
    float_pred = np.array([np.argmax(model.forward((im.reshape(-1) / 255.0).tolist()))
                           for im in images])
    float_acc = (float_pred == labels).mean()
    print(f"{N_IMAGES} images: RTL/integer accuracy {int_acc:.2f}, float {float_acc:.2f}")
    for s in stats:
        print(f"  {s['name']}: m={s['m']} rows={s['rows']} D={s['distinct_rows']} "
              f"A={s['abits']} job cycles {s['job_cycles']} (ideal {s['ideal_cycles']})")
        assert s["runs"] == N_IMAGES
    assert float_acc >= 0.85 and int_acc >= float_acc - 0.06
