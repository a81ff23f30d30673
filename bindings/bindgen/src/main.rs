//! `uniffi-bindgen LIBRARY LANGUAGE OUT_DIR`: generates the bindings of a uniffi library (library
//! mode) in one language (`kotlin`, `swift` or `python`) into `OUT_DIR`.

use anyhow::{bail, Result};
use camino::Utf8PathBuf;
use uniffi_bindgen::bindings::{generate, GenerateOptions, TargetLanguage};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [library, language, out_dir] = args.as_slice() else {
        bail!("usage: uniffi-bindgen LIBRARY kotlin|swift|python OUT_DIR");
    };
    let language = match language.as_str() {
        "kotlin" => TargetLanguage::Kotlin,
        "swift" => TargetLanguage::Swift,
        "python" => TargetLanguage::Python,
        other => bail!("unknown language {other:?}: kotlin, swift or python"),
    };
    generate(GenerateOptions {
        languages: vec![language],
        source: Utf8PathBuf::from(library),
        out_dir: Utf8PathBuf::from(out_dir),
        config_override: None,
        format: false,
        crate_filter: None,
        metadata_no_deps: true,
    })
}
