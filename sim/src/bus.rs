//! Bus-functional models: a Wishbone B4 classic master driving a [`Dut`].

use crate::dut::{Dut, Port};
use crate::error::Result;

/// A failed bus transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The slave did not answer (ack/err/rty) within the timeout.
    #[error("Wishbone {kind} at address {addr:#x}: no ack after {cycles} cycles")]
    Timeout {
        /// `read` or `write`.
        kind: &'static str,
        /// Address as driven on `adr`.
        addr: u32,
        /// Cycles waited.
        cycles: u64,
    },
    /// The slave answered with `err`.
    #[error("Wishbone {kind} at address {addr:#x}: the slave answered with err")]
    ErrorResponse {
        /// `read` or `write`.
        kind: &'static str,
        /// Address as driven on `adr`.
        addr: u32,
    },
    /// The slave answered with `rty` (retry).
    #[error("Wishbone {kind} at address {addr:#x}: the slave asked for a retry")]
    Retry {
        /// `read` or `write`.
        kind: &'static str,
        /// Address as driven on `adr`.
        addr: u32,
    },
    /// An SPI frame came back malformed or flagged an error.
    #[error("SPI bridge: {0}")]
    Spi(String),
}

/// Names of the Wishbone slave's ports on the top module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WishboneNames {
    /// `cyc` (master to slave).
    pub cyc: String,
    /// `stb`.
    pub stb: String,
    /// `we`.
    pub we: String,
    /// `adr`.
    pub adr: String,
    /// Write data (master to slave).
    pub dat_w: String,
    /// Read data (slave to master).
    pub dat_r: String,
    /// Byte selects, if the slave has them.
    pub sel: Option<String>,
    /// `ack`.
    pub ack: String,
    /// `err`, if the slave has it.
    pub err: Option<String>,
    /// `rty`, if the slave has it.
    pub rty: Option<String>,
}

impl WishboneNames {
    /// Names formed as `{prefix}cyc`, `{prefix}stb`, ..., `{prefix}dat_w`,
    /// `{prefix}dat_r`; optional ports (`sel`, `err`, `rty`) are looked up in `dut`.
    pub fn with_prefix(dut: &Dut, prefix: &str) -> WishboneNames {
        let opt = |s: &str| {
            let n = format!("{prefix}{s}");
            dut.has_port(&n).then_some(n)
        };
        WishboneNames {
            cyc: format!("{prefix}cyc"),
            stb: format!("{prefix}stb"),
            we: format!("{prefix}we"),
            adr: format!("{prefix}adr"),
            dat_w: format!("{prefix}dat_w"),
            dat_r: format!("{prefix}dat_r"),
            sel: opt("sel"),
            ack: format!("{prefix}ack"),
            err: opt("err"),
            rty: opt("rty"),
        }
    }
}

/// A Wishbone B4 classic (single read / single write) master.
///
/// Protocol per transaction: drive `cyc`, `stb`, `we`, `adr`, `dat_w`, `sel`;
/// then, each cycle, settle the combinational logic and sample `ack`/`err`/`rty`
/// before the rising edge; the transfer completes at the first rising edge where
/// one of them is high (read data is sampled there), after which `cyc` and `stb`
/// drop. This works for slaves with combinational and with registered
/// acknowledges. A slave that never answers gives [`BusError::Timeout`].
#[derive(Debug, Clone)]
pub struct WishboneMaster {
    cyc: Port,
    stb: Port,
    we: Port,
    adr: Port,
    dat_w: Port,
    dat_r: Port,
    sel: Option<Port>,
    ack: Port,
    err: Option<Port>,
    rty: Option<Port>,
    /// Cycles to wait for an answer before giving up.
    pub timeout: u64,
    /// Idle cycles inserted after each transaction (0 = back-to-back).
    pub idle_cycles: u64,
    transactions: u64,
}

impl WishboneMaster {
    /// Resolves the ports and drives the bus idle.
    pub fn new(dut: &mut Dut, names: &WishboneNames) -> Result<WishboneMaster> {
        let opt = |dut: &Dut, n: &Option<String>, input: bool| -> Result<Option<Port>> {
            n.as_deref()
                .map(|n| if input { dut.input(n) } else { dut.port(n) })
                .transpose()
        };
        let m = WishboneMaster {
            cyc: dut.input(&names.cyc)?,
            stb: dut.input(&names.stb)?,
            we: dut.input(&names.we)?,
            adr: dut.input(&names.adr)?,
            dat_w: dut.input(&names.dat_w)?,
            dat_r: dut.port(&names.dat_r)?,
            sel: opt(dut, &names.sel, true)?,
            ack: dut.port(&names.ack)?,
            err: opt(dut, &names.err, false)?,
            rty: opt(dut, &names.rty, false)?,
            timeout: 1000,
            idle_cycles: 0,
            transactions: 0,
        };
        m.idle(dut);
        dut.eval();
        Ok(m)
    }

    fn idle(&self, dut: &mut Dut) {
        dut.set(self.cyc, 0);
        dut.set(self.stb, 0);
        dut.set(self.we, 0);
    }

    /// Completed transactions so far.
    pub fn transactions(&self) -> u64 {
        self.transactions
    }

    /// One classic cycle; returns the sampled read data.
    fn cycle(&mut self, dut: &mut Dut, we: bool, addr: u32, data: u32, sel: u32) -> Result<u32> {
        let kind = if we { "write" } else { "read" };
        dut.set(self.cyc, 1);
        dut.set(self.stb, 1);
        dut.set(self.we, we as u64);
        dut.set(self.adr, addr as u64);
        dut.set(self.dat_w, if we { data as u64 } else { 0 });
        if let Some(s) = self.sel {
            dut.set(s, sel as u64);
        }
        let mut waited = 0u64;
        let outcome = loop {
            dut.eval();
            let ack = dut.get(self.ack) != 0;
            let err = self.err.map(|p| dut.get(p) != 0).unwrap_or(false);
            let rty = self.rty.map(|p| dut.get(p) != 0).unwrap_or(false);
            let rdata = dut.get(self.dat_r) as u32;
            if ack || err || rty || waited >= self.timeout {
                if ack || err || rty {
                    // The transfer completes at this rising edge.
                    dut.tick()?;
                }
                break if ack {
                    Ok(rdata)
                } else if err {
                    Err(crate::bus::BusError::ErrorResponse { kind, addr })
                } else if rty {
                    Err(crate::bus::BusError::Retry { kind, addr })
                } else {
                    Err(crate::bus::BusError::Timeout {
                        kind,
                        addr,
                        cycles: waited,
                    })
                };
            }
            dut.tick()?;
            waited += 1;
        };
        self.idle(dut);
        dut.eval();
        if self.idle_cycles > 0 {
            dut.tick_n(self.idle_cycles)?;
        }
        self.transactions += 1;
        Ok(outcome?)
    }

    /// Single read of the word at `addr` (the value driven on `adr`).
    pub fn read(&mut self, dut: &mut Dut, addr: u32) -> Result<u32> {
        self.cycle(dut, false, addr, 0, 0xf)
    }

    /// Single write of `data` to `addr`, all byte lanes selected.
    pub fn write(&mut self, dut: &mut Dut, addr: u32, data: u32) -> Result<()> {
        self.cycle(dut, true, addr, data, 0xf).map(|_| ())
    }

    /// Single write with explicit byte selects (`sel` bit i enables byte i).
    pub fn write_sel(&mut self, dut: &mut Dut, addr: u32, data: u32, sel: u32) -> Result<()> {
        self.cycle(dut, true, addr, data, sel).map(|_| ())
    }
}
