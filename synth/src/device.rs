//! Target devices, their boards and the nextpnr options for them.

use std::fmt;
use std::str::FromStr;

/// FPGA family (selects the yosys script, nextpnr binary and packer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Lattice iCE40 (yosys `synth_ice40`, nextpnr-ice40, icepack).
    Ice40,
    /// Lattice ECP5 (yosys `synth_ecp5`, nextpnr-ecp5, ecppack).
    Ecp5,
}

/// A supported device, each with a reference board and its pin constraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Device {
    /// iCE40UP5K-SG48 on the iCEBreaker (5280 LC, 30 BRAM, 4 SPRAM, 8 DSP).
    #[serde(rename = "up5k")]
    Up5k,
    /// iCE40HX8K-CT256 on the iCE40-HX8K breakout board (7680 LC, 32 BRAM).
    #[serde(rename = "hx8k")]
    Hx8k,
    /// LFE5U-25F-CABGA381 on the ULX3S (24k LUT4, 56 DP16KD, 28 MULT18).
    #[serde(rename = "ecp5-25k")]
    Ecp5_25k,
    /// LFE5U-85F-CABGA381 on the ULX3S (84k LUT4, 208 DP16KD, 156 MULT18).
    #[serde(rename = "ecp5-85k")]
    Ecp5_85k,
}

/// Every device, in CLI order.
pub const ALL_DEVICES: [Device; 4] = [
    Device::Up5k,
    Device::Hx8k,
    Device::Ecp5_25k,
    Device::Ecp5_85k,
];

impl Device {
    /// The CLI name (`up5k`, `hx8k`, `ecp5-25k`, `ecp5-85k`).
    pub fn name(self) -> &'static str {
        match self {
            Device::Up5k => "up5k",
            Device::Hx8k => "hx8k",
            Device::Ecp5_25k => "ecp5-25k",
            Device::Ecp5_85k => "ecp5-85k",
        }
    }

    /// The family.
    pub fn family(self) -> Family {
        match self {
            Device::Up5k | Device::Hx8k => Family::Ice40,
            Device::Ecp5_25k | Device::Ecp5_85k => Family::Ecp5,
        }
    }

    /// Full part name.
    pub fn part(self) -> &'static str {
        match self {
            Device::Up5k => "iCE40UP5K-SG48",
            Device::Hx8k => "iCE40HX8K-CT256",
            Device::Ecp5_25k => "LFE5U-25F-6BG381C",
            Device::Ecp5_85k => "LFE5U-85F-6BG381C",
        }
    }

    /// The reference board.
    pub fn board(self) -> &'static str {
        match self {
            Device::Up5k => "iCEBreaker",
            Device::Hx8k => "iCE40-HX8K Breakout Board",
            Device::Ecp5_25k | Device::Ecp5_85k => "ULX3S",
        }
    }

    /// File name of the board's pin constraints in `boards/`.
    pub fn constraints_file(self) -> &'static str {
        match self {
            Device::Up5k => "icebreaker.pcf",
            Device::Hx8k => "hx8k-breakout.pcf",
            Device::Ecp5_25k | Device::Ecp5_85k => "ulx3s.lpf",
        }
    }

    /// The board's pin constraints (the files under `boards/`, built in).
    pub fn constraints_text(self) -> &'static str {
        match self {
            Device::Up5k => include_str!("../../boards/icebreaker.pcf"),
            Device::Hx8k => include_str!("../../boards/hx8k-breakout.pcf"),
            Device::Ecp5_25k | Device::Ecp5_85k => include_str!("../../boards/ulx3s.lpf"),
        }
    }

    /// Default clock target in MHz (the acceptance targets of the project).
    pub fn default_freq_mhz(self) -> f64 {
        match self {
            Device::Up5k => 48.0,
            Device::Hx8k => 100.0,
            Device::Ecp5_25k | Device::Ecp5_85k => 100.0,
        }
    }

    /// nextpnr options selecting the device and package.
    pub fn nextpnr_device_args(self) -> &'static [&'static str] {
        match self {
            Device::Up5k => &["--up5k", "--package", "sg48"],
            Device::Hx8k => &["--hx8k", "--package", "ct256"],
            Device::Ecp5_25k => &["--25k", "--package", "CABGA381"],
            Device::Ecp5_85k => &["--85k", "--package", "CABGA381"],
        }
    }

    /// nextpnr option that ingests the constraints file.
    pub fn constraints_flag(self) -> &'static str {
        match self.family() {
            Family::Ice40 => "--pcf",
            Family::Ecp5 => "--lpf",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} on the {})",
            self.name(),
            self.part(),
            self.board()
        )
    }
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.to_ascii_lowercase();
        ALL_DEVICES
            .iter()
            .copied()
            .find(|d| d.name() == l || (l == "ecp5" && *d == Device::Ecp5_25k))
            .ok_or_else(|| {
                format!(
                    "unknown device '{s}' (expected one of: {})",
                    ALL_DEVICES.map(|d| d.name()).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in ALL_DEVICES {
            assert_eq!(d.name().parse::<Device>().unwrap(), d);
            assert!(d.constraints_text().contains("clk"));
        }
        let e = "ice65".parse::<Device>().unwrap_err();
        assert!(e.contains("up5k"), "{e}");
    }

    /// Every pin of the standalone top is placed by every board file (nextpnr-ecp5
    /// refuses an unconstrained IO; nextpnr-ice40 would place it anywhere).
    #[test]
    fn board_files_place_every_pin_of_the_standalone_top() {
        for d in ALL_DEVICES {
            let text = d.constraints_text();
            for pin in tbn_hdl::spi::SPI_TOP_PINS {
                let placed = text.lines().any(|l| {
                    let l = l.trim();
                    let quoted = format!("\"{pin}\"");
                    (l.starts_with("set_io") && l.split_whitespace().any(|w| w == pin))
                        || (l.starts_with("LOCATE COMP") && l.contains(&quoted))
                });
                assert!(
                    placed,
                    "{}: {pin} is not placed by {}",
                    d.name(),
                    d.constraints_file()
                );
            }
        }
    }
}
