"""Register-level checks of the core (docs/register-map.md) through the Accelerator."""

import pytest

import tbnsim

R = tbnsim.REGMAP


@pytest.fixture
def acc():
    """A fresh core per test: register state must start from reset."""
    return tbnsim.Accelerator(32)


def test_id_and_config_registers(acc):
    assert acc.read32(R["ID_MAGIC"]) == 0x54424E31 == R["MAGIC"]
    assert acc.read32(R["ID_VERSION"]) == 0x00020000 == R["VERSION"]
    assert acc.read32(R["CFG_LANES"]) == 32
    assert acc.read32(R["CFG_TILE_MAX"]) == 32768
    assert acc.read32(R["CFG_MAX_IN"]) == 4096
    assert acc.read32(R["CFG_MAX_ROWS"]) == 1024
    assert acc.read32(R["CFG_MAX_ABITS"]) == 8
    assert acc.info == {"lanes": 32, "tile_max": 32768, "max_in": 4096, "max_rows": 1024,
                        "max_abits": 8}


def test_read_only_and_scratch(acc):
    acc.write32(R["ID_MAGIC"], 0)
    acc.write32(R["CFG_LANES"], 7)
    assert acc.read32(R["ID_MAGIC"]) == R["MAGIC"]
    assert acc.read32(R["CFG_LANES"]) == 32
    for v in (0xFFFFFFFF, 0, 0xA5A5A5A5):
        acc.write32(R["SCRATCH"], v)
        assert acc.read32(R["SCRATCH"]) == v


def test_job_registers_read_back(acc):
    acc.write32(R["JOB_M"], 100)
    acc.write32(R["JOB_Q"], 400)
    acc.write32(R["JOB_ROWS"], 3)
    acc.write32(R["JOB_ABITS"], 8 | R["JOB_ABITS_SIGNED"])
    assert acc.read32(R["JOB_M"]) == 100
    assert acc.read32(R["JOB_Q"]) == 400
    assert acc.read32(R["JOB_ROWS"]) == 3
    assert acc.read32(R["JOB_ABITS"]) == 8 | R["JOB_ABITS_SIGNED"]


def test_unmapped_addresses_read_zero(acc):
    for off in (0x40, 0x100, 0xFFFC):
        acc.write32(off, 0x12345678)
        assert acc.read32(off) == 0


@pytest.mark.parametrize(
    "m,q,rows,abits,code",
    [
        (8, 64, 1, 0, 2),  # BAD_ACTIVATION_BITS
        (8, 64, 1, 9, 2),
        (0, 64, 1, 8, 3),  # BAD_ROW_LENGTH
        (5000, 8192, 1, 8, 3),  # m > MAX_IN
        (64, 32, 1, 8, 4),  # BAD_TILE_LENGTH: q < m
        (64, 40000, 1, 8, 4),  # q > TILE_MAX
        (8, 64, 0, 8, 5),  # BAD_ROW_COUNT
        (8, 64, 2000, 8, 5),
    ],
)
def test_start_checks_set_error_codes(acc, m, q, rows, abits, code):
    acc.write32(R["JOB_M"], m)
    acc.write32(R["JOB_Q"], q)
    acc.write32(R["JOB_ROWS"], rows)
    acc.write32(R["JOB_ABITS"], abits)
    acc.write32(R["CTRL"], R["CTRL_START"])
    status = acc.read32(R["STATUS"])
    assert status & R["STATUS_ERROR"] and not status & R["STATUS_BUSY"], hex(status)
    assert (status >> R["STATUS_ERROR_CODE_SHIFT"]) & R["STATUS_ERROR_CODE_MASK"] == code
    acc.write32(R["STATUS"], R["STATUS_ERROR"])  # W1C
    assert acc.read32(R["STATUS"]) == 0
    assert acc.read32(R["JOB_COUNT"]) == 0


def test_irq_done_and_job_count(acc):
    layer = tbnsim.TiledLayer([True, False] * 32, rows=4, m=32, p=2, alphas=[1.0, 2.0])
    res = acc.run_layer(layer, [1] * 32, abits=1)
    assert acc.read32(R["JOB_COUNT"]) == 1
    assert res.cycles > 0
    # run_layer clears DONE: irq low, STATUS idle.
    assert acc.native.peek("irq") == 0
    assert acc.read32(R["STATUS"]) & (R["STATUS_DONE"] | R["STATUS_BUSY"]) == 0
    acc.write32(R["CTRL"], R["CTRL_START"] | R["CTRL_IRQ_ENABLE"])
    status = acc.native.wait(10_000)
    assert status & R["STATUS_DONE"]
    assert acc.native.peek("irq") == 1
    assert acc.read32(R["JOB_COUNT"]) == 2
    acc.write32(R["CTRL"], R["CTRL_SOFT_RESET"])
    assert acc.read32(R["JOB_COUNT"]) == 0
    assert acc.native.peek("irq") == 0


def test_accelerator_errors_are_exceptions(acc):
    layer = tbnsim.TiledLayer([True] * 64, rows=2, m=32, p=1, alphas=[1.0])
    with pytest.raises(ValueError, match=r"activation 3 = 300 outside 0..=255"):
        acc.run_layer(layer, [0, 0, 0, 300] + [0] * 28)
    with pytest.raises(ValueError, match="31 inputs for a stage with m = 32"):
        layer.accumulators([1] * 31)
    big = tbnsim.TiledLayer([True] * 8192, rows=2, m=4096, p=1, alphas=[1.0])
    assert acc.run_layer(big, [1] * 4096).acc.tolist() == [[4096, 0], [4096, 0]]
    too_big = tbnsim.TiledLayer([True] * 16384, rows=2, m=8192, p=1, alphas=[1.0])
    with pytest.raises(ValueError, match="exceeds the core"):
        acc.run_layer(too_big, [1] * 8192)
    with pytest.raises(tbnsim.TbnError, match="invalid configuration: lanes = 12"):
        tbnsim.Accelerator(12)


def test_spi_link_runs_the_same_layer():
    """The standalone top (SPI-to-Wishbone bridge + core) through its SPI pins."""
    spi = tbnsim.Accelerator(32, link="spi")
    assert spi.link == "spi"
    assert spi.read32(R["ID_MAGIC"]) == R["MAGIC"]
    assert spi.info["lanes"] == 32
    layer = tbnsim.TiledLayer([True, False, False] * 32, rows=6, m=48, p=3, alphas=[1.0])
    x = list(range(48))
    res = spi.run_layer(layer, x, abits=8)
    assert (res.acc == layer.accumulators(x, abits=8)).all()
    with pytest.raises(ValueError, match="link `usb`"):
        tbnsim.Accelerator(32, link="usb")
