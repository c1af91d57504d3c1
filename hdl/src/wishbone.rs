//! Wishbone B4 classic 32-bit slave of the core: handshake, address decode
//! into regions, the registered write request and the read-data select.
//!
//! Registered acknowledge, for one cycle: writes have one wait state
//! (`wb_ack` rises the cycle after `wb_stb & wb_cyc`), reads two (the
//! access cycle registers the index and region, the next selects the word;
//! read data valid with the ack). Every address is acknowledged. A read whose
//! master dropped `cyc`/`stb` while it waited (an abandoned cycle) is not
//! acknowledged, so no later access takes a stale ack (issue 17 (c)), and the
//! ack output is gated by the live cycle.
//!
//! Writes are registered: the request of the access cycle (region, address,
//! data, byte lanes) is held in flip-flops and acts in the next cycle, the
//! ack cycle. That keeps the bus decode off the paths into the sequencer and
//! the counters; the master cannot see the difference (its next access comes
//! after the ack at the earliest).
//!
//! Regions (from the register map, word address bits 16:14): registers
//! 0x00000 (indices below 64), OUT 0x10000, ACT 0x20000, TILE 0x40000.

use rust_hdl::prelude::*;

/// The Wishbone slave.
#[derive(LogicBlock, Default)]
pub struct WbSlave {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Wishbone word address.
    pub wb_adr: Signal<In, Bits<17>>,
    /// Wishbone write data.
    pub wb_dat_w: Signal<In, Bits<32>>,
    /// Wishbone read data.
    pub wb_dat_r: Signal<Out, Bits<32>>,
    /// Wishbone write enable.
    pub wb_we: Signal<In, Bit>,
    /// Wishbone byte-lane selects of writes.
    pub wb_sel: Signal<In, Bits<4>>,
    /// Wishbone strobe.
    pub wb_stb: Signal<In, Bit>,
    /// Wishbone cycle.
    pub wb_cyc: Signal<In, Bit>,
    /// Wishbone acknowledge.
    pub wb_ack: Signal<Out, Bit>,
    /// The register word of the read in flight (valid in its ack cycle).
    pub reg_rdata: Signal<In, Bits<32>>,
    /// Output memory read data (valid in the read's ack cycle).
    pub out_rdata: Signal<In, Bits<32>>,
    /// Output memory read address (word within the OUT window).
    pub out_addr: Signal<Out, Bits<14>>,
    /// A register write is accepted in this cycle (the access cycle).
    pub reg_write_access: Signal<Out, Bit>,
    /// Register index of the request on the bus (word address bits 5:0).
    pub reg_index: Signal<Out, Bits<6>>,
    /// Register index of the read in flight (registered in its access cycle).
    pub read_index: Signal<Out, Bits<6>>,
    /// Registered write request: a register write acts in this cycle.
    pub write_regs: Signal<Out, Bit>,
    /// Registered write request: a TILE window write acts in this cycle.
    pub write_tile: Signal<Out, Bit>,
    /// Registered write request: an ACT window write acts in this cycle.
    pub write_act: Signal<Out, Bit>,
    /// Word address (within its window) of the registered write.
    pub write_addr: Signal<Out, Bits<16>>,
    /// Data of the registered write.
    pub write_data: Signal<Out, Bits<32>>,
    /// Byte lanes of the registered write.
    pub write_sel: Signal<Out, Bits<4>>,
    ack: DFF<Bit>,
    read_wait: DFF<Bit>,
    read_regs: DFF<Bit>,
    read_out: DFF<Bit>,
    read_index_q: DFF<Bits<6>>,
    write_en: DFF<Bit>,
    write_in_regs: DFF<Bit>,
    write_in_tile: DFF<Bit>,
    write_in_act: DFF<Bit>,
    write_addr_q: DFF<Bits<16>>,
    write_data_q: DFF<Bits<32>>,
    write_sel_q: DFF<Bits<4>>,
    access: Signal<Local, Bit>,
    write_access: Signal<Local, Bit>,
    in_regs: Signal<Local, Bit>,
    in_out: Signal<Local, Bit>,
    in_act: Signal<Local, Bit>,
    in_tile: Signal<Local, Bit>,
}

impl Logic for WbSlave {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            ack,
            read_wait,
            read_regs,
            read_out,
            read_index_q,
            write_en,
            write_in_regs,
            write_in_tile,
            write_in_act,
            write_addr_q,
            write_data_q,
            write_sel_q
        );
        // an access: a live request with no ack pending and no read in flight
        self.access.next =
            self.wb_stb.val() & self.wb_cyc.val() & !self.ack.q.val() & !self.read_wait.q.val();
        self.write_access.next = self.access.val() & self.wb_we.val() & !self.rst.val();
        self.in_regs.next = self.wb_adr.val().get_bits::<11>(6) == 0;
        self.in_out.next = self.wb_adr.val().get_bits::<3>(14) == 1;
        self.in_act.next = self.wb_adr.val().get_bits::<3>(14) == 2;
        self.in_tile.next = self.wb_adr.val().get_bit(16);
        self.reg_index.next = self.wb_adr.val().get_bits::<6>(0);
        self.reg_write_access.next = self.write_access.val() & self.in_regs.val();
        // the write request, registered
        self.write_en.d.next = self.write_access.val();
        self.write_in_regs.d.next = self.in_regs.val();
        self.write_in_tile.d.next = self.in_tile.val();
        self.write_in_act.d.next = self.in_act.val();
        self.write_addr_q.d.next = self.wb_adr.val().get_bits::<16>(0);
        self.write_data_q.d.next = self.wb_dat_w.val();
        self.write_sel_q.d.next = self.wb_sel.val();
        self.write_regs.next = self.write_en.q.val() & self.write_in_regs.q.val();
        self.write_tile.next = self.write_en.q.val() & self.write_in_tile.q.val();
        self.write_act.next = self.write_en.q.val() & self.write_in_act.q.val();
        self.write_addr.next = self.write_addr_q.q.val();
        self.write_data.next = self.write_data_q.q.val();
        self.write_sel.next = self.write_sel_q.q.val();
        // acknowledge: writes in the cycle after the access, reads one cycle
        // later and only while the request is still live
        self.read_wait.d.next = self.access.val() & !self.wb_we.val() & !self.rst.val();
        self.ack.d.next = (self.access.val() & self.wb_we.val())
            | (self.read_wait.q.val() & self.wb_stb.val() & self.wb_cyc.val());
        self.wb_ack.next = self.ack.q.val() & self.wb_stb.val() & self.wb_cyc.val();
        // reads: index and region registered in the access cycle
        if self.access.val() {
            self.read_index_q.d.next = self.reg_index.val();
            self.read_out.d.next = self.in_out.val();
            self.read_regs.d.next = self.in_regs.val();
        }
        self.read_index.next = self.read_index_q.q.val();
        self.wb_dat_r.next = 0.into();
        if self.read_regs.q.val() {
            self.wb_dat_r.next = self.reg_rdata.val();
        }
        if self.read_out.q.val() {
            self.wb_dat_r.next = self.out_rdata.val();
        }
        self.out_addr.next = self.wb_adr.val().get_bits::<14>(0);
        if self.rst.val() {
            self.ack.d.next = false;
            self.read_wait.d.next = false;
        }
    }
}
