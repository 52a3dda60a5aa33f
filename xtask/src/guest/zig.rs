//! Placeholder until the zig recipe lands.

use std::path::Path;

use anyhow::{Result, bail};

use crate::Workspace;

pub struct Zig;

impl super::Guest for Zig {
    fn name(&self) -> &'static str {
        "zig"
    }
    fn toolchain(&self, _: &Workspace) -> Result<String, String> {
        Err("not supported yet".into())
    }
    fn install(&self, _: &Workspace) -> Result<()> {
        Ok(())
    }
    fn build(&self, _: &Workspace, _: &Path, _: &Path) -> Result<()> {
        bail!("not supported yet")
    }
}
