//! docs/register-map.md must equal `tbn_hdl::regdoc::page()` (one source of
//! truth: firmware-driver/src/regmap.rs). `TBN_BLESS=1` rewrites the file.

use std::path::PathBuf;

#[test]
fn register_map_doc_is_generated() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/register-map.md");
    let want = tbn_hdl::regdoc::page();
    if std::env::var_os("TBN_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date with tbn_hdl::regdoc::page(); regenerate it with \
         `tbn hdl regmap --out docs/register-map.md` or `TBN_BLESS=1 cargo test -p tbn-hdl --test regmap_doc`",
        path.display()
    );
}

#[test]
fn svd_and_json_are_well_formed() {
    let cfg = tbn_hdl::Config::default();
    let svd = tbn_hdl::regdoc::svd(&cfg);
    assert_eq!(
        svd.matches("<register>").count(),
        svd.matches("</register>").count()
    );
    assert!(
        svd.contains("<name>CFG_LANES</name>")
            && svd.contains("<resetValue>0x00000020</resetValue>")
    );
    let json: serde_json::Value = serde_json::from_str(&tbn_hdl::regdoc::json()).unwrap();
    assert_eq!(json["magic"], tbn_driver::regmap::MAGIC);
    assert_eq!(
        json["registers"].as_array().unwrap().len(),
        tbn_driver::regmap::REGISTERS.len()
    );
}
