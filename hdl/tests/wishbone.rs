//! The Wishbone slave (`tbn_hdl::wishbone`) in lockstep with its emitted
//! Verilog, every cycle against a reference of Wishbone B4 classic with the
//! documented wait states: an access is a live request (`stb & cyc`) with
//! no ack pending and no read in flight; a write is acked in the next cycle
//! and its request (region, address, data, lanes) acts in that cycle; a read
//! is acked one cycle later if the request is still live (an abandoned read
//! is never acked) and returns the word of its region; the ack output only
//! with a live request; a reset cancels both.

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_hdl::wishbone::WbSlave;

/// Where a word address points (register map regions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Region {
    #[default]
    Unmapped,
    Regs,
    Out,
    Act,
    Tile,
}

fn region(adr: u32) -> Region {
    match adr {
        0..=63 => Region::Regs,
        0x4000..=0x7FFF => Region::Out,
        0x8000..=0xBFFF => Region::Act,
        0x1_0000..=0x1_FFFF => Region::Tile,
        _ => Region::Unmapped,
    }
}

/// One cycle of bus inputs.
#[derive(Clone, Copy, Debug)]
struct Bus {
    rst: bool,
    adr: u32,
    dat: u32,
    we: bool,
    sel: u32,
    stb: bool,
    cyc: bool,
    reg_rdata: u32,
    out_rdata: u32,
}

/// The reference slave.
#[derive(Default)]
struct WbRef {
    ack_pending: bool,
    read_waiting: bool,
    read_region: Region,
    read_index: u32,
    /// The registered write request (region, address, data, lanes).
    write: Option<(Region, u32, u32, u32)>,
}

impl WbRef {
    /// Outputs in the order of the block's ports: wb_dat_r, wb_ack,
    /// out_addr, reg_write_access, reg_index, read_index, write_regs,
    /// write_tile, write_act, write_addr, write_data, write_sel (the last
    /// three only while a write acts).
    fn outputs(&self, b: &Bus) -> Vec<Option<u128>> {
        let live = b.stb && b.cyc;
        let access = live && !self.ack_pending && !self.read_waiting;
        let dat_r = match self.read_region {
            Region::Regs => b.reg_rdata,
            Region::Out => b.out_rdata,
            _ => 0,
        };
        let w = self.write;
        let acts = |r: Region| Some(w.is_some_and(|w| w.0 == r) as u128);
        vec![
            Some(dat_r as u128),
            Some((self.ack_pending && live) as u128),
            Some((b.adr & 0x3FFF) as u128),
            Some((access && b.we && !b.rst && region(b.adr) == Region::Regs) as u128),
            Some((b.adr & 63) as u128),
            Some(self.read_index as u128),
            acts(Region::Regs),
            acts(Region::Tile),
            acts(Region::Act),
            w.map(|w| w.1 as u128),
            w.map(|w| w.2 as u128),
            w.map(|w| w.3 as u128),
        ]
    }

    fn step(&mut self, b: &Bus) {
        let access = b.stb && b.cyc && !self.ack_pending && !self.read_waiting;
        self.write =
            (access && b.we && !b.rst).then_some((region(b.adr), b.adr & 0xFFFF, b.dat, b.sel));
        if access {
            self.read_region = region(b.adr);
            self.read_index = b.adr & 63;
        }
        self.ack_pending = !b.rst && ((access && b.we) || (self.read_waiting && b.stb && b.cyc));
        self.read_waiting = !b.rst && access && !b.we;
    }
}

/// Random master behaviour: requests held until the ack or abandoned (stb
/// dropped with or without cyc), back-to-back requests, idle gaps, resets;
/// with the wrong habits too (stb without cyc, a request changed while it
/// waits) that the slave must survive in lockstep.
fn traffic(rng: &mut impl Rng, cycles: usize) -> Vec<Bus> {
    let adrs = [
        0u32, 7, 8, 9, 10, 12, 13, 14, 15, 16, 63, 64, 0x3FFF, 0x4000, 0x4001, 0x7FFF, 0x8000,
        0xBFFF, 0xC000, 0xFFFF, 0x1_0000, 0x1_2345, 0x1_FFFF,
    ];
    let mut out = Vec::new();
    let mut held: Option<Bus> = None;
    while out.len() < cycles {
        let fresh = Bus {
            rst: rng.gen_ratio(1, 300),
            adr: if rng.gen_bool(0.8) {
                adrs[rng.gen_range(0..adrs.len())]
            } else {
                rng.gen_range(0..1 << 17)
            },
            dat: rng.gen(),
            we: rng.gen_bool(0.5),
            sel: rng.gen_range(0..16),
            stb: true,
            cyc: true,
            reg_rdata: rng.gen(),
            out_rdata: rng.gen(),
        };
        let mut b = match held {
            Some(h) if rng.gen_bool(0.85) => h,
            _ => fresh,
        };
        if rng.gen_bool(0.15) {
            // abandon (or idle)
            b.stb = false;
            b.cyc = rng.gen_bool(0.5);
            held = None;
        } else if rng.gen_bool(0.02) {
            b.cyc = false;
        } else {
            held = Some(b);
        }
        b.rst = rng.gen_ratio(1, 300);
        b.reg_rdata = rng.gen();
        b.out_rdata = rng.gen();
        out.push(b);
    }
    out
}

#[test]
fn wishbone_slave_against_reference() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 61;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bus = vec![
        Bus {
            rst: true,
            adr: 0,
            dat: 0,
            we: false,
            sel: 0,
            stb: false,
            cyc: false,
            reg_rdata: 0,
            out_rdata: 0,
        };
        2
    ];
    bus.extend(traffic(&mut rng, 6000));
    let stim: Vec<Vec<u128>> = bus
        .iter()
        .map(|b| {
            vec![
                b.rst as u128,
                b.adr as u128,
                b.dat as u128,
                b.we as u128,
                b.sel as u128,
                b.stb as u128,
                b.cyc as u128,
                b.reg_rdata as u128,
                b.out_rdata as u128,
            ]
        })
        .collect();
    let out = run_lockstep(WbSlave::default, &stim, 0);
    let mut model = WbRef::default();
    let (mut acks, mut reads, mut writes) = (0, 0, 0);
    for (c, b) in bus.iter().enumerate() {
        let want = model.outputs(b);
        if c >= 1 {
            for (i, w) in want.iter().enumerate() {
                if let Some(w) = w {
                    assert_eq!(out[c][i], *w, "cycle {c}, output {i}: {b:?}");
                }
            }
        }
        acks += (want[1] == Some(1)) as usize;
        reads += (want[1] == Some(1) && model.write.is_none()) as usize;
        writes += model.write.is_some() as usize;
        model.step(b);
    }
    println!("{acks} acks, {reads} read acks, {writes} write cycles");
    assert!(reads > 200 && writes > 200, "traffic too thin");
}
