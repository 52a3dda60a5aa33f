//! The `host` interface a plugin imports: `log`, `config`, `config-get`.
//!
//! Defined by hand rather than through generated bindings, so that each
//! call sees the guest's strings in place (`WasmStr`: nothing is copied
//! before it is measured) and the store (to charge the plugin's fuel).
//! Every call is charged [`HOST_CALL_FUEL`] plus [`HOST_CALL_FUEL_PER_BYTE`]
//! for each byte it reads or returns, so host work is paid for like guest
//! work; a plugin that runs out of fuel in a host call fails with reason
//! `fuel`. Arguments are bounded: a log message past
//! [`MAX_LOG_MESSAGE_BYTES`] is cut, a `config-get` key past
//! [`MAX_CONFIG_KEY_BYTES`] is refused (it matches nothing).

use wasmtime::component::{Linker, WasmStr};
use wasmtime::{StoreContextMut, Trap};

use crate::bindings::HOST_INTERFACE;
use crate::bindings::model::Level;
use crate::limits::{
    HOST_CALL_FUEL, HOST_CALL_FUEL_PER_BYTE, MAX_CONFIG_KEY_BYTES, MAX_LOG_MESSAGE_BYTES,
};
use crate::sandbox::Sandbox;

/// Defines the `host` interface in `linker`.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    let mut host = linker.instance(HOST_INTERFACE)?;
    host.func_wrap(
        "log",
        |mut store: StoreContextMut<'_, Sandbox>, (level, message): (Level, WasmStr)| {
            let (bytes, kept) = {
                let text = message.to_str(&store)?;
                (text.len(), cut(&text, MAX_LOG_MESSAGE_BYTES))
            };
            charge(&mut store, bytes)?;
            store.data().plugin.log(level, &kept);
            Ok(())
        },
    )?;
    host.func_wrap(
        "config",
        |mut store: StoreContextMut<'_, Sandbox>, (): ()| {
            let config = store.data().plugin.config.clone();
            let bytes = config.iter().map(|(k, v)| k.len() + v.len()).sum();
            charge(&mut store, bytes)?;
            Ok((config,))
        },
    )?;
    host.func_wrap(
        "config-get",
        |mut store: StoreContextMut<'_, Sandbox>, (key,): (WasmStr,)| {
            let (bytes, key) = {
                let key = key.to_str(&store)?;
                let bytes = key.len();
                (
                    bytes,
                    (bytes <= MAX_CONFIG_KEY_BYTES).then(|| key.into_owned()),
                )
            };
            let plugin = store.data().plugin.clone();
            let value = key.and_then(|key| {
                plugin
                    .config
                    .binary_search_by(|(k, _)| k.as_str().cmp(&key))
                    .ok()
                    .map(|i| plugin.config[i].1.clone())
            });
            charge(&mut store, bytes + value.as_ref().map_or(0, String::len))?;
            Ok((value,))
        },
    )?;
    Ok(())
}

/// Takes a host call's cost from the plugin's fuel; out of fuel traps the
/// plugin as running wasm out of fuel would.
fn charge(store: &mut StoreContextMut<'_, Sandbox>, bytes: usize) -> wasmtime::Result<()> {
    let cost = HOST_CALL_FUEL.saturating_add(HOST_CALL_FUEL_PER_BYTE.saturating_mul(bytes as u64));
    let left = store.get_fuel()?;
    if cost > left {
        store.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }
    store.set_fuel(left - cost)
}

/// `text`, cut to at most `max` bytes at a character boundary, with `…`
/// when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("ééé", 3), "é…");
        assert_eq!(cut("abcdef", 4), "abcd…");
    }
}
