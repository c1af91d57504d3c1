"""Low-level Dut API: ports, values, widths, clocking, waveforms, misuse."""

import pytest

import tbnsim
from conftest import COUNTER_V


def test_ports_and_values(counter):
    names = {n: (w, d) for n, w, d in counter.ports()}
    assert names["count"] == (8, "output")
    assert names["wide_in"] == (100, "input")
    assert counter.clock.name == "clk"
    counter.a.value = 0x1234
    counter.eval()
    assert int(counter.not_a.value) == 0xEDCB
    assert counter["not_a"].value == 0xEDCB
    assert counter.a.width == 16 and counter.a.direction == "input"
    assert len(counter.count) == 8


def test_clocking_and_reset(counter):
    counter.rst.value = 1
    counter.tick(2)
    counter.rst.value = 0
    counter.en.value = 1
    counter.step.value = 3
    counter.tick(10)
    assert counter.count.value == 30
    counter.step.value = 1
    ran = counter.run_until("wrap", 1, 1000)
    assert counter.count.value == 0xFF and ran == 0xFF - 30
    assert counter.cycles == 12 + ran


def test_wide_ports(counter):
    counter.rst.value = 0
    v = (1 << 99) | (0xABCDEF << 40) | 5
    counter.wide_in.value = v
    counter.tick()
    assert counter.wide_out.value == v + 1
    counter.wide_in.value = (1 << 100) - 1
    counter.tick()
    assert counter.wide_out.value == 0  # wraps at 100 bits
    counter.wide_in.value = -2  # two's complement
    counter.tick()
    assert counter.wide_out.value == (1 << 100) - 1


def test_misuse_raises_clear_errors(counter):
    with pytest.raises(AttributeError, match=r"no port named `nope`.*clk"):
        counter.nope
    with pytest.raises(tbnsim.PortError, match="no port named `nope`"):
        counter._native.port_info("nope")
    with pytest.raises(OverflowError, match=r"port `step`: value 256 does not fit in 8 bits"):
        counter.step.value = 256
    with pytest.raises(OverflowError, match="does not fit in 100 bits"):
        counter.wide_in.value = 1 << 100
    with pytest.raises(OverflowError):
        counter.en.value = 2
    with pytest.raises(tbnsim.PortError, match="`count` is an output"):
        counter.count.value = 1
    with pytest.raises(TypeError, match="cannot assign a value of type str"):
        counter.a.value = "12"
    with pytest.raises(AttributeError, match=r"dut.step.value = 3"):
        counter.step = 3
    with pytest.raises(tbnsim.PortError, match="a clock must be 1 bit wide"):
        counter.set_clock("a")


def test_verilog_errors_surface_with_tool_output(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input wire clk); this is not verilog; endmodule\n")
    with pytest.raises(tbnsim.ToolError, match=r"verilator.*failed"):
        tbnsim.Dut.from_verilog(bad, "bad", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="not a plain Verilog identifier"):
        tbnsim.Dut.from_verilog(COUNTER_V, "bad top")


def test_waveform(tmp_path):
    dut = tbnsim.Dut.from_verilog(COUNTER_V, "counter", trace=True)
    vcd = tmp_path / "wave.vcd"
    dut.trace_open(vcd)
    dut.rst.value = 1
    dut.tick(2)
    dut.rst.value = 0
    dut.en.value = 1
    dut.step.value = 1
    dut.tick(5)
    dut.trace_close()
    text = vcd.read_text()
    assert "$enddefinitions" in text and " count " in text.replace("[7:0]", " ")
    # 7 cycles, two samples each, after the initial dump.
    assert text.count("\n#") >= 14
    untraced = tbnsim.Dut.from_verilog(COUNTER_V, "counter", trace=False)
    with pytest.raises(tbnsim.TbnError, match="built without tracing"):
        untraced.trace_open(tmp_path / "x.vcd")


def test_core_ports(tbnsim_dut):
    names = {n for n, _, _ in tbnsim_dut.ports()}
    assert {"clk", "rst", "wb_adr", "wb_dat_w", "wb_dat_r", "wb_we", "wb_sel", "wb_stb",
            "wb_cyc", "wb_ack", "irq"} <= names
    assert tbnsim_dut.wb_adr.width == 17


def test_core_id_register_by_hand(tbnsim_dut):
    """A Wishbone read driven port by port from Python, no bus model."""
    d = tbnsim_dut
    d.rst.value = 1
    d.tick(4)
    d.rst.value = 0
    d.wb_cyc.value = 1
    d.wb_stb.value = 1
    d.wb_we.value = 0
    d.wb_sel.value = 0xF
    d.wb_adr.value = tbnsim.REGMAP["ID_MAGIC"] >> 2
    for _ in range(10):
        d.eval()
        if d.wb_ack.value:
            break
        d.tick()
    assert d.wb_ack.value == 1
    assert d.wb_dat_r.value == tbnsim.REGMAP["MAGIC"] == 0x54424E31
