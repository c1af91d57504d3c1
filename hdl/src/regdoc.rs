//! Register-map documents generated from `tbn_driver::regmap`: markdown, CMSIS-SVD, JSON.
//!
//! [`page`] is the whole of docs/register-map.md (a test keeps the file equal
//! to it; regenerate with `tbn hdl regmap --out docs/register-map.md` or
//! `TBN_BLESS=1 cargo test -p tbn-hdl --test regmap_doc`).

use crate::spi;
use crate::Config;
use tbn_driver::regmap::{self, Access, ResetValue};

fn reset_text(r: &regmap::Register) -> String {
    match r.reset {
        ResetValue::Value(v) => format!("0x{v:08X}"),
        ResetValue::Config => "config".into(),
    }
}

/// The register map as markdown (the tables of docs/register-map.md).
pub fn markdown() -> String {
    let mut s = String::from("## Registers\n\n| Offset | Name | Access | Reset | Description |\n| --- | --- | --- | --- | --- |\n");
    for r in regmap::REGISTERS {
        s += &format!(
            "| 0x{:02X} | {} | {} | {} | {} |\n",
            r.offset,
            r.name,
            r.access.short(),
            reset_text(r),
            r.description
        );
    }
    s += "\n### Fields\n\n| Register | Field | Bits | Access | Description |\n| --- | --- | --- | --- | --- |\n";
    for r in regmap::REGISTERS {
        for f in r.fields {
            s += &format!(
                "| {} | {} | {}:{} | {} | {} |\n",
                r.name,
                f.name,
                f.lsb + f.width - 1,
                f.lsb,
                f.access.short(),
                f.description
            );
        }
    }
    s += "\n## Memory windows\n\n| Offset | Size | Name | Access | Layout |\n| --- | --- | --- | --- | --- |\n";
    for w in regmap::WINDOWS {
        s += &format!(
            "| 0x{:05X} | 0x{:05X} | {} | {} | {} |\n",
            w.offset,
            w.size,
            w.name,
            w.access.short(),
            w.description
        );
    }
    s += "\n## Error codes (STATUS.ERROR_CODE)\n\n| Code | Name | Meaning |\n| --- | --- | --- |\n";
    for (c, d) in regmap::ERROR_CODES {
        s += &format!("| {} | {} | {} |\n", *c as u8, c.name(), d);
    }
    s
}

fn svd_access(a: Access) -> &'static str {
    match a {
        Access::ReadOnly => "read-only",
        Access::WriteOnly => "write-only",
        Access::ReadWrite | Access::ReadWriteOneToClear => "read-write",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// CMSIS-SVD description (usable with svd2rust); configuration registers get their reset values from `cfg`.
pub fn svd(cfg: &Config) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<device schemaVersion=\"1.3\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema-instance\" xs:noNamespaceSchemaLocation=\"CMSIS-SVD.xsd\">\n  <vendor>tbn</vendor>\n  <name>TBN</name>\n  <version>1.0</version>\n  <description>Tiled Bit Network accelerator</description>\n  <addressUnitBits>8</addressUnitBits>\n  <width>32</width>\n  <size>32</size>\n  <access>read-write</access>\n  <resetValue>0x00000000</resetValue>\n  <resetMask>0xFFFFFFFF</resetMask>\n  <peripherals>\n    <peripheral>\n      <name>TBN</name>\n      <description>TBN accelerator core</description>\n      <baseAddress>0x00000000</baseAddress>\n");
    s += &format!("      <addressBlock><offset>0x0</offset><size>0x{:X}</size><usage>registers</usage></addressBlock>\n", regmap::SPAN_BYTES);
    s += "      <interrupt><name>TBN</name><value>0</value></interrupt>\n      <registers>\n";
    for r in regmap::REGISTERS {
        let reset = match r.reset {
            ResetValue::Value(v) => v,
            ResetValue::Config => match r.name {
                "CFG_LANES" => cfg.lanes as u32,
                "CFG_TILE_MAX" => cfg.tile_max as u32,
                "CFG_MAX_IN" => cfg.max_in as u32,
                "CFG_MAX_ROWS" => cfg.max_rows as u32,
                "CFG_MAX_ABITS" => crate::MAX_ABITS as u32,
                // The single-layer core: the job mode only, no engine memories yet.
                "CFG_FEATURES" => regmap::CFG_FEATURES_JOB,
                _ => 0,
            },
        };
        s += &format!(
            "        <register>\n          <name>{}</name>\n          <description>{}</description>\n          <addressOffset>0x{:X}</addressOffset>\n          <access>{}</access>\n          <resetValue>0x{:08X}</resetValue>\n",
            r.name,
            xml_escape(r.description),
            r.offset,
            svd_access(r.access),
            reset
        );
        if !r.fields.is_empty() {
            s += "          <fields>\n";
            for f in r.fields {
                let extra = if f.access == Access::ReadWriteOneToClear {
                    "<modifiedWriteValues>oneToClear</modifiedWriteValues>"
                } else {
                    ""
                };
                s += &format!(
                    "            <field><name>{}</name><description>{}</description><bitOffset>{}</bitOffset><bitWidth>{}</bitWidth><access>{}</access>{}</field>\n",
                    f.name,
                    xml_escape(f.description),
                    f.lsb,
                    f.width,
                    svd_access(f.access),
                    extra
                );
            }
            s += "          </fields>\n";
        }
        s += "        </register>\n";
    }
    for w in regmap::WINDOWS {
        let words = w.size / 4;
        s += &format!(
            "        <register>\n          <dim>{words}</dim>\n          <dimIncrement>4</dimIncrement>\n          <name>{}[%s]</name>\n          <description>{}</description>\n          <addressOffset>0x{:X}</addressOffset>\n          <access>{}</access>\n          <resetValue>0x00000000</resetValue>\n        </register>\n",
            w.name,
            xml_escape(w.description),
            w.offset,
            svd_access(w.access)
        );
    }
    s += "      </registers>\n    </peripheral>\n  </peripherals>\n</device>\n";
    s
}

/// JSON description of the register map.
pub fn json() -> String {
    let regs: Vec<_> = regmap::REGISTERS
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name, "offset": r.offset, "access": r.access.short(),
                "reset": match r.reset { ResetValue::Value(v) => serde_json::json!(v), ResetValue::Config => serde_json::json!("config") },
                "description": r.description,
                "fields": r.fields.iter().map(|f| serde_json::json!({
                    "name": f.name, "lsb": f.lsb, "width": f.width, "access": f.access.short(), "description": f.description
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let wins: Vec<_> = regmap::WINDOWS
        .iter()
        .map(|w| serde_json::json!({"name": w.name, "offset": w.offset, "size": w.size, "access": w.access.short(), "description": w.description}))
        .collect();
    let codes: Vec<_> = regmap::ERROR_CODES
        .iter()
        .map(|(c, d)| serde_json::json!({"code": *c as u8, "name": c.name(), "description": d}))
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "magic": regmap::MAGIC, "version": regmap::VERSION, "span_bytes": regmap::SPAN_BYTES,
        "wb_addr_bits": regmap::WB_ADDR_BITS, "registers": regs, "windows": wins, "error_codes": codes,
    }))
    .expect("json")
}

/// The full register-map page (docs/register-map.md): overview, the tables of
/// [`markdown`], behaviour notes and the SPI framing of the standalone top.
pub fn page() -> String {
    let mut s = format!(
        "# TBN accelerator register map

<!-- Generated by tbn_hdl::regdoc::page() from firmware-driver/src/regmap.rs: do not edit by hand.
     Regenerate: `tbn hdl regmap --out docs/register-map.md` (or TBN_BLESS=1 cargo test -p tbn-hdl --test regmap_doc). -->

Source of truth: `firmware-driver/src/regmap.rs` (crate `tbn-driver`, module `regmap`). The RTL's
address decode, the driver, this page and the SVD/JSON files that `tbn hdl emit` writes all derive
from it. Register map version 0x{version:08X}, magic 0x{magic:08X} (\"TBN1\").

Byte offsets; every register and memory word is 32 bits wide. The Wishbone port `wb_adr` is the
word address (byte offset >> 2, {wb} bits); the SPI bridge takes byte addresses. The map spans
0x{span:X} bytes.

",
        version = regmap::VERSION,
        magic = regmap::MAGIC,
        wb = regmap::WB_ADDR_BITS,
        span = regmap::SPAN_BYTES,
    );
    s += &markdown();
    s += &format!(
        "
## Behaviour

- One job computes the accumulator pairs `(dot_a, dot_b)` of the distinct rows `j < D` of one layer
  (docs/numerics.md sections 2 and 3): load TILE (the extended tile image) and ACT (A bit-planes),
  write JOB_M, JOB_Q, JOB_ROWS, JOB_ABITS, write CTRL.START, wait for STATUS.DONE (or the
  interrupt), read OUT. The job registers are copied at start and may be rewritten while a job runs.
- The extended tile image has `q + L` bits: image bit `i` is tile bit `i mod q` (for `q >= L`:
  tile bits `[0, q)` then `[0, L)`; for `q < L` the tile repeated, of which only bits below `2q`
  reach a result). TILE words at or past `TILE_MAX + L` bits are ignored: they never alias onto
  the tile.
- From an accepted START on, every STATUS read shows BUSY or DONE until DONE is cleared: DONE
  reads 1 in the same cycle BUSY falls, so waiting for BUSY = 0 and then checking DONE is safe.
- CTRL is one register: a write with byte lane 1 selected (every whole-word write) also writes
  IRQ_ENABLE, so writing `CTRL_START` alone clears the interrupt enable; write
  `START | IRQ_ENABLE` to keep it. SOFT_RESET and START in one write: the soft reset acts and
  START is ignored.
- A successful START clears DONE, ERROR and ERROR_CODE. The start checks run in the order of the
  error codes 2, 3, 4, 5; the first failing one is reported and the job does not start.
- START while BUSY is refused (code 1) and the running job completes normally. TILE/ACT writes
  while BUSY are ignored (code 6). ERROR_CODE keeps the first error until ERROR is cleared.
- `irq = CTRL.IRQ_ENABLE & (STATUS.DONE | STATUS.ERROR)` (level); writing 1 to DONE/ERROR clears it.
  A write takes effect at the end of its acknowledge cycle, so `irq` falls one clock cycle after
  the ack of the clearing write (read STATUS back before leaving an interrupt handler if the
  interrupt controller samples the line at once).
- CTRL.SOFT_RESET aborts a running job: BUSY is 0 at most {sr} cycles after the write's strobe
  (the next access after its ack reads BUSY = 0), no output row is written afterwards, and
  DONE, ERROR, ERROR_CODE, CYCLES and JOB_COUNT are cleared. Job registers and memories are kept.
- After any error the next valid START runs normally: no hardware reset is ever needed.
- Unmapped addresses are acknowledged; they read 0 and ignore writes. TILE and ACT are write only
  (read 0); OUT words beyond MAX_ROWS read 0, and every OUT word reads 0 until a job writes it
  (block RAM initial contents; `rst` and SOFT_RESET keep OUT as it is).
- Wishbone: classic cycles, registered acknowledge for one cycle: a write is acknowledged one
  cycle after `stb & cyc` (one wait state), a read two cycles after (two wait states: the
  address is registered, then the word selected); read data comes with the ack; a write takes effect at the end of the ack cycle (invisible to
  bus masters: the next access starts after the ack); TILE and ACT words are written one cycle
  later (the write is registered next to the block RAM), still before any START can read them.
  `wb_sel` selects the byte lanes of a write: unselected lanes of registers and memory words keep
  their value, and a control bit (START, SOFT_RESET, the W1C bits, IRQ_ENABLE) acts only when its
  lane is selected. Reads return whole words. `wb_ack` is high only while `cyc` and `stb` are:
  a master may abandon a cycle (drop `cyc`/`stb` before the ack); an abandoned read is never
  acknowledged later and the next cycle gets its own ack (an abandoned write may still take
  effect).
- Cycles of a job: `D * ceil(m / L) * A` issue cycles plus at most {ovh} (pipeline fill and drain).

## Whole-network engine (register map v2, CFG_FEATURES.ENGINE)

- The model image (docs/model-image.md) holds the descriptors, tiles and requantization constants
  of a whole dense network. Load it once: CTRL.LOAD_BEGIN (drops any model, LOAD_WORDS = 0), image
  word i to IMAGE + 4i in increasing i, CTRL.LOAD_END; BUSY is 1 for at most {le} cycles while the
  image is checked, then STATUS.MODEL_LOADED is 1, or ERROR with the first failing check in the
  order BAD_MAGIC, BAD_VERSION, LOAD_SEQUENCE, BAD_CHECKSUM, IMAGE_FIT (no model is loaded then).
- One inference: write the input bytes to INPUT (input k in byte k % 4 of word k / 4), write
  CTRL.INFER, wait for DONE (or the interrupt), read CLASS and LOGITS (two words per output).
  INFER is refused with NO_MODEL without a model, INPUT_RANGE when an INPUT byte written since the
  last INFER was out of the model's input range (rewrite the input), START_WHILE_BUSY while BUSY.
  INFER (accepted or refused), LOAD_BEGIN and SOFT_RESET clear the input-range flag; a successful
  INFER clears DONE, ERROR and ERROR_CODE (as START does). The model and the input stay for the
  next INFER.
- CYCLES counts the whole inference; LAYER_CYCLES word l the cycles of layer l. An inference takes
  at most the sum over its layers of `D * ceil(m / L) * A_in + rows + {lo}` cycles plus {io}.
- CTRL.SOFT_RESET during an inference or a load aborts it (BUSY 0 within {sr} cycles as for a
  job), clears DONE, ERROR, CYCLES and JOB_COUNT and then, if it aborted a job or an inference,
  sets ERROR with ABORTED. A loaded model stays loaded (an aborted load leaves none).
- With CFG_FEATURES.JOB the single-layer job mode above is kept; it may share memories with the
  engine, so a job or a TILE write may drop the model (MODEL_LOADED reads 0 afterwards).
",
        sr = regmap::SOFT_RESET_MAX_CYCLES,
        ovh = regmap::JOB_OVERHEAD_MAX_CYCLES,
        le = regmap::LOAD_END_MAX_CYCLES,
        lo = regmap::LAYER_OVERHEAD_MAX_CYCLES,
        io = regmap::INFER_OVERHEAD_MAX_CYCLES,
    );
    s += &spi_section();
    s
}

/// The SPI framing section of [`page`].
pub fn spi_section() -> String {
    format!(
        "
## SPI framing (standalone tops `{top}` and `{ntop}`)

The standalone top (`tbn_spi_top.v`, compiled together with `tbn_core.v`) has the ports `clk`, `sck`,
`cs_n`, `mosi`, `qd_in[2:0]` (in), `miso`, `miso_oe` and `irq` (out). The whole-network engine's
standalone top `{ntop}` (`tbn_hdl::net_spi_top_verilog`, one file) has the same ports and the same
bridge. It has no reset pin: an internal power-on reset holds
the bridge and the core for {por} clock cycles after configuration; afterwards CTRL.SOFT_RESET is
the reset.

SPI mode 0 (CPOL 0, CPHA 0), MSB first, one data line each way, plus a quad burst write (QWRITE
below: address and data on 4 lines). The bridge's serial side is clocked
by SCK itself (MOSI sampled at rising SCK edges, MISO driven from a flip-flop clocked by falling SCK
edges) and hands whole 32-bit words to the system clock domain through a toggle handshake with a
2-flip-flop synchroniser. SCK and the system clock are independent: `f_sck <= {maxr} f_clk`
(verified in Verilator with independent clocks, random phase and non-integer ratios from 1/8 to
{maxr}; a sweep still reads exactly at 1.4, sim/tests/spi_link.rs). The old bridge that sampled SCK with the system clock needed `f_clk >= 4 f_sck`; that
limit is gone. `cs_n` must stay high for at least {csh} SCK period between frames and fall at
least half an SCK period before the first rising SCK edge. SCK idles low.

A frame is one `cs_n` low period: a command byte, 3 address bytes (byte address, big-endian;
bits 19:2 are the {wb}-bit Wishbone word address, bits 1:0 and 23:20 are ignored; `{top}` also
ignores bit 19, its map ends below the IMAGE window), then data words of 4 bytes, big-endian. The address
increments by 4 after each word (bursts of any length; the driver uses at most
`SPI_MAX_BURST_WORDS` words per frame).

| Command | MOSI | MISO |
| --- | --- | --- |
| 0x{w:02X} WRITE | `{w:02X} A2 A1 A0 D3 D2 D1 D0 [D3 D2 D1 D0 ...]` | 0 |
| 0x{r:02X} READ | `{r:02X} A2 A1 A0 XX` then any bytes | 0 for the {hdr} header bytes, then `D3 D2 D1 D0` of each word |
| 0x{q:02X} QWRITE (quad, 1-4-4) | `{q:02X}` on IO0, then `A2 A1 A0 D3 D2 D1 D0 [...]` on IO0..IO3, a nibble per SCK (IO3 = bit 3, high nibble first) | IO1 is an input from the command byte's last rising edge on (`miso_oe` 0) |
| other | ignored to the end of the frame | 0 |

- WRITE: each complete 4-byte word becomes one Wishbone write of all byte lanes (started within
  4 clock cycles of the word's last rising SCK edge); an incomplete trailing word is dropped.
- READ: {dummy} dummy (turnaround) byte `XX` follows the address. The first Wishbone read starts
  when the address is complete and must land within the dummy byte's 8 SCK periods: it takes at
  most {fetch} clock cycles (synchroniser, Wishbone read with 2 wait states, capture, phase), hence
  the limit `8 / f_sck >= {fetch} / f_clk` (`f_sck <= {maxr} f_clk` with margin). Each next word is
  fetched while the previous one is shifted out (32 SCK periods), so a frame reads up to 2 words
  past the last word clocked out (reads have no side effects in this map).
- QWRITE: the quad burst write (no quad read: reads move little data). The top has the extra
  ports `qd_in[2:0]` (IO1..IO3 in; IO0 is `mosi`) and `miso_oe` (1 except from the rising SCK
  edge that completes a QWRITE command byte to the end of the frame: the master may drive IO1
  from the next falling edge on). On a board, IO1 is the MISO line: `miso` drives it through a
  tristate buffer enabled by `miso_oe` (SB_IO output enable) and `qd_in[0]` reads it. There is
  no turnaround: the address follows the command directly. embedded-hal 1.0 has no quad SPI
  trait; the driver's `QuadSpi` trait (tbn_driver::bus) is the transport for `SpiBus::quad`.
- MISO changes after each falling SCK edge (half an SCK period before the master's rising-edge
  sample, less the output and board delays). It is 0 outside read data and is driven also while
  `cs_n` is high (put a tristate buffer outside if the SPI bus is shared).
- Raising `cs_n` ends a frame at any bit; the next frame's first SCK edge restarts the bridge's
  frame state. A Wishbone cycle already started completes.
- Errors: the link has no status byte of its own; bus errors are the core's (STATUS.ERROR and
  ERROR_CODE, read over the link). A frame that violates the timing above returns wrong read data
  (the driver's reads of ID_MAGIC detect a dead or too fast link).
- Cost: a write of n words takes `8 * (4 + 4 n)` SCK cycles, a read `8 * (5 + 4 n)` (unchanged),
  a quad write `8 + 2 * (3 + 4 n)`; at `f_sck = f_clk` SCK cycles are also system clock cycles,
  4 times fewer than with the old bridge at `f_sck = f_clk / 4`.

Example: read ID_MAGIC: MOSI `{r:02X} 00 00 00 00 00 00 00 00`, MISO `00 00 00 00 00 54 42 4E 31`.
",
        top = spi::SPI_TOP,
        ntop = spi::NET_SPI_TOP,
        wb = regmap::WB_ADDR_BITS,
        por = spi::POR_CYCLES,
        maxr = spi::MAX_SCK_PER_CLK,
        csh = spi::CS_HIGH_MIN_SCK,
        w = spi::CMD_WRITE,
        r = spi::CMD_READ,
        q = spi::CMD_QWRITE,
        hdr = 4 + spi::READ_DUMMY_BYTES,
        dummy = spi::READ_DUMMY_BYTES,
        fetch = spi::READ_FETCH_MAX_CYCLES,
    )
}
