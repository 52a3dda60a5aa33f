//! Reading files the operator granted (`grants.files`), through `std::fs`
//! over WASI: a file not granted fails to open with an ordinary error.

use std::io::Read;

/// Reads `path` whole as text, refusing more than `max_bytes` (procfs and
/// sysfs files report a size of 0, so the cap is checked while reading).
pub fn read_to_string(path: &str, max_bytes: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut text = String::new();
    file.take(max_bytes + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{path}: {e}"))?;
    if text.len() as u64 > max_bytes {
        return Err(format!("{path}: longer than {max_bytes} bytes"));
    }
    Ok(text)
}
