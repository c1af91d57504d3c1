//! The whole-network engine under test (`NetCore`) and its host port, one
//! clock cycle at a time, driven as the register decode drives it (one
//! IMAGE or INPUT write every other cycle, CTRL pulses, polling BUSY):
//! shared by `netcore.rs` (dense programs) and `netcore_conv.rs` (format 2).

use rust_hdl::prelude::*;
use tbn_driver::regmap::ErrorCode;
use tbn_hdl::netcore::{NetCore, NetMem};
use tbn_hdl::rtlsim::settle;
use tbn_hdl::seq::SEQ_NARROW;
use tbn_hdl::util::low_u64;
use tbn_hdl::Config;

/// The weight memory of the test engines (bits).
pub const WEIGHT_BITS: usize = 1 << 16;

/// The engine under test and its host port, one clock cycle at a time.
pub struct Dut<const L: usize, const W: usize, const N: usize = SEQ_NARROW> {
    pub c: NetCore<L, W, N>,
    pub cycles: u64,
    /// The input vectors of every cycle (lockstep order), when recording.
    pub record: Option<Vec<Vec<u128>>>,
}

/// Host port inputs of one cycle (all pulses default to 0).
#[derive(Default, Clone, Copy)]
pub struct Cyc {
    pub load_begin: bool,
    pub load_end: bool,
    pub infer: bool,
    pub soft_reset: bool,
    pub clr_done: bool,
    pub clr_err: bool,
    pub img: Option<(u32, u32)>,
    pub input: Option<(u32, u32)>,
    pub lg_addr: u32,
    pub lc_addr: u32,
    /// `img` / `input` held without their write enables (the cycle after
    /// a write: NetTop's request registers hold the index and data)
    pub held: bool,
}

impl<const L: usize, const W: usize, const N: usize> Dut<L, W, N> {
    /// LAYER_CYCLES of layers `0..n` (one read cycle each).
    pub fn layer_cycles(&mut self, n: usize) -> Vec<u64> {
        (0..n)
            .map(|l| {
                self.step(Cyc {
                    lc_addr: l as u32,
                    ..Default::default()
                });
                self.c.h_lc_data.val().index() as u64
            })
            .collect()
    }

    pub fn new(cfg: &Config) -> Self {
        Self::with_mem(cfg, &NetMem::new(cfg, WEIGHT_BITS))
    }

    pub fn with_mem(cfg: &Config, mem: &NetMem) -> Self {
        let mut c = NetCore::<L, W, N>::with_mem(cfg, mem);
        c.connect_all();
        c.clk.next = Clock { clk: false };
        settle(&mut c).unwrap();
        Dut {
            c,
            cycles: 0,
            record: None,
        }
    }

    /// The IMAGE write's index equals LOAD_WORDS (as NetTop compares them).
    pub fn in_order(&self, i: &Cyc) -> bool {
        i.img
            .is_some_and(|x| u64::from(x.0) == self.c.h_load_words.val().index() as u64)
    }

    /// One cycle with inputs `i` (outputs read before the edge).
    pub fn step(&mut self, i: Cyc) {
        let in_order = self.in_order(&i);
        if let Some(rec) = &mut self.record {
            rec.push(vec![
                i.load_begin as u128,
                i.load_end as u128,
                i.infer as u128,
                i.soft_reset as u128,
                i.clr_done as u128,
                i.clr_err as u128,
                (i.img.is_some() && !i.held) as u128,
                in_order as u128,
                (i.input.is_some() && !i.held) as u128,
                i.input.is_some_and(|x| x.0 == 0) as u128,
                i.img.or(i.input).map_or(0, |x| x.1) as u128,
                i.lg_addr as u128,
                i.lc_addr as u128,
            ]);
        }
        let c = &mut self.c;
        c.h_load_begin.next = i.load_begin;
        c.h_load_end.next = i.load_end;
        c.h_infer.next = i.infer;
        c.h_soft_reset.next = i.soft_reset;
        c.h_clr_done.next = i.clr_done;
        c.h_clr_err.next = i.clr_err;
        c.h_img_we.next = i.img.is_some() && !i.held;
        c.h_img_in_order.next = in_order;
        c.h_in_we.next = i.input.is_some() && !i.held;
        c.h_in_first.next = i.input.is_some_and(|x| x.0 == 0);
        c.h_wdata.next = (i.img.or(i.input).map_or(0, |x| x.1) as u64).to_bits();
        c.h_lg_addr.next = (i.lg_addr as u64).to_bits();
        c.h_lc_addr.next = (i.lc_addr as u64).to_bits();
        settle(c).unwrap();
        if std::env::var("TBN_NET_DEBUG").is_ok() && c.engine.out_we.val() {
            println!(
                "pair row {} a {} b {}",
                c.engine.out_row.val().index(),
                low_u64(c.engine.out_a.val()) as u32 as i32,
                low_u64(c.engine.out_b.val()) as u32 as i32
            );
        }
        c.clk.next = Clock { clk: true };
        settle(c).unwrap();
        c.clk.next = Clock { clk: false };
        settle(c).unwrap();
        self.cycles += 1;
    }

    /// A bus write: the write cycle and one idle cycle (Wishbone's registered
    /// ack) in which the window index and data are held, as from NetTop.
    pub fn write(&mut self, i: Cyc) {
        self.step(i);
        self.step(Cyc {
            img: i.img,
            input: i.input,
            held: true,
            ..Default::default()
        });
    }

    pub fn busy(&self) -> bool {
        self.c.h_busy.val()
    }

    pub fn code(&self) -> Option<u32> {
        self.c
            .h_err
            .val()
            .then(|| self.c.h_code.val().index() as u32)
    }

    /// Wait for BUSY = 0 (at most `limit` cycles).
    pub fn wait_idle(&mut self, limit: u64) -> u64 {
        let t0 = self.cycles;
        self.step(Cyc::default());
        while self.busy() {
            assert!(
                self.cycles - t0 < limit,
                "BUSY for more than {limit} cycles"
            );
            self.step(Cyc::default());
        }
        // a host learns BUSY = 0 from a STATUS read, whose data comes a
        // cycle after it is sampled: it writes INPUT a cycle later at the
        // earliest (INPUT writes are refused in the cycle after BUSY falls)
        self.step(Cyc::default());
        self.cycles - t0
    }

    pub fn load(&mut self, words: &[u32]) {
        self.write(Cyc {
            load_begin: true,
            ..Default::default()
        });
        for (i, &w) in words.iter().enumerate() {
            self.write(Cyc {
                img: Some((i as u32, w)),
                ..Default::default()
            });
        }
        self.write(Cyc {
            load_end: true,
            ..Default::default()
        });
        self.wait_idle(16);
    }

    pub fn write_input(&mut self, x: &[i32]) {
        for (k, chunk) in x.chunks(4).enumerate() {
            let mut w = 0u32;
            for (j, &v) in chunk.iter().enumerate() {
                w |= u32::from(v as i8 as u8) << (8 * j);
            }
            self.write(Cyc {
                input: Some((k as u32, w)),
                ..Default::default()
            });
        }
    }

    /// INFER, wait, read the outputs and the class; (logits, class, cycles).
    pub fn infer(&mut self, n_out: usize, limit: u64) -> (Vec<i64>, usize, u64) {
        self.write(Cyc {
            infer: true,
            ..Default::default()
        });
        self.wait_idle(limit);
        assert!(self.c.h_done.val(), "DONE after the inference");
        assert_eq!(self.code(), None, "no error");
        let cycles = self.c.h_cycles.val().index() as u64;
        let mut out = Vec::new();
        for i in 0..n_out {
            self.step(Cyc {
                lg_addr: i as u32,
                ..Default::default()
            });
            out.push(low_u64(self.c.h_lg_data.val()) as i64);
        }
        (out, self.c.h_class.val().index(), cycles)
    }
}

pub fn argmax(v: &[i64]) -> usize {
    let best = v.iter().max().expect("outputs");
    v.iter().position(|x| x == best).expect("max")
}

impl<const L: usize, const W: usize, const N: usize> Dut<L, W, N>
where
    NetCore<L, W, N>: tbn_hdl::rtlsim::Lockstep,
{
    /// The end of a lockstep run: LAYER_CYCLES of `layers` layers read, an
    /// INFER cancelled by a soft reset `abort_at` cycles in, a load of
    /// `words` with one bit flipped at `flip` (BAD_CHECKSUM); then the
    /// recorded stimulus replayed on the emitted Verilog under Icarus in
    /// lockstep with a fresh model built by `mk` (which must equal this one).
    pub fn abort_reload_and_lockstep(
        &mut self,
        layers: usize,
        abort_at: usize,
        words: &[u32],
        flip: usize,
        mk: impl Fn() -> NetCore<L, W, N>,
    ) {
        self.layer_cycles(layers);
        self.write(Cyc {
            infer: true,
            ..Default::default()
        });
        for _ in 0..abort_at {
            self.step(Cyc::default());
        }
        self.step(Cyc {
            soft_reset: true,
            ..Default::default()
        });
        for _ in 0..20 {
            self.step(Cyc::default());
        }
        self.write(Cyc {
            clr_err: true,
            ..Default::default()
        });
        let mut bad = words.to_vec();
        bad[flip] ^= 1;
        self.load(&bad);
        assert_eq!(self.code(), Some(ErrorCode::BadChecksum as u32));
        self.step(Cyc::default());
        let stim = self.record.take().expect("recording");
        println!("{} cycles", stim.len());
        let mut b = mk();
        let v = tbn_hdl::rtlsim::block_verilog(&mut b);
        if let Ok(p) = std::env::var("TBN_NET_DUMP") {
            std::fs::write(p, &v).unwrap();
        }
        let mut b = mk();
        b.connect_all();
        let dir = tempfile::tempdir().unwrap();
        let out = tbn_hdl::rtlsim::lockstep(&mut b, &v, "top", &stim, 1, dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        // the corrupted load ends in BAD_CHECKSUM in both
        let last = out.last().unwrap();
        assert_eq!((last[2], last[3]), (1, ErrorCode::BadChecksum as u128));
    }
}
