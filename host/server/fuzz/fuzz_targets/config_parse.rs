//! Any text parses and resolves to a configuration or to an error that
//! names the file; never a panic.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wasm_exporter::config;
use wasm_exporter::runtime::limits::PluginLimits;

/// A directory with a secret file and a plugin, for relative paths.
fn base_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("wasm_exporter_fuzz_{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("pw"), "secret\n").unwrap();
        std::fs::write(dir.join("sub/a.wasm"), b"\0asm").unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Absolute paths could name endless files (`/dev/zero`) as secrets.
    if text.contains('/') {
        let _ = config::parse(text, Path::new("fuzz.yml"));
        return;
    }
    let dir = base_dir();
    let path = dir.join("config.yml");
    let prefix = path.display().to_string();
    let check = |e: config::ConfigError| {
        assert!(e.to_string().starts_with(&prefix), "{e}");
    };
    match config::parse(text, &path) {
        Err(e) => check(e),
        Ok(file) => {
            for lines in [Some(text), None] {
                if let Err(e) = config::resolve(&file, &path, dir, lines, &PluginLimits::default())
                {
                    check(e);
                }
            }
        }
    }
});
