//! Placeholder until the c recipe lands.

use std::path::Path;

use anyhow::{Result, bail};

use crate::Workspace;

pub struct C;

impl super::Guest for C {
    fn name(&self) -> &'static str {
        "c"
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
