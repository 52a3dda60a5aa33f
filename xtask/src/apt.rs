//! Debian packages the tasks need (Go for the peer benchmark; Prometheus,
//! Redis, nginx and Debian's exporters for the end-to-end tests), installed with apt-get when missing: as root,
//! or through sudo otherwise.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::Workspace;

/// Debian's hook that tells maintainer scripts whether they may start a
/// service; exit status 101 means "no".
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// Whether apt-get should also install the packages' recommendations.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Recommends {
    Install,
    Skip,
}

/// Installs `packages` with apt-get, running `apt-get update` first only if
/// the install fails (a fresh machine may have no package lists yet).
///
/// No service is started by the install: a package that ships a daemon
/// (prometheus) would otherwise start it, or fail its post-install script
/// trying, in a container without an init system. When the machine has no
/// `policy-rc.d` of its own, one that denies every start is put in place
/// for the install and removed after it.
pub fn install(workspace: &Workspace, packages: &[&str], recommends: Recommends) -> Result<()> {
    let apt = |args: &[&str]| {
        let mut command = privileged("apt-get");
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    let mut install = apt(&["install", "-y", "-q"]);
    if recommends == Recommends::Skip {
        install.arg("--no-install-recommends");
    }
    install.args(packages);

    let _policy = DenyServiceStarts::install(workspace)?;
    if workspace.run(&mut install).is_err() {
        workspace.run(&mut apt(&["update", "-q"]))?;
        workspace.run(&mut install).with_context(|| {
            format!("failed to install {packages:?} (a Debian-based system is needed)")
        })?;
    }
    Ok(())
}

/// A temporary `policy-rc.d` that denies starting services, removed on drop;
/// nothing when the machine already has one (its policy is kept).
struct DenyServiceStarts<'a> {
    workspace: Option<&'a Workspace>,
}

impl<'a> DenyServiceStarts<'a> {
    fn install(workspace: &'a Workspace) -> Result<Self> {
        if Path::new(POLICY_RC_D).exists() {
            return Ok(DenyServiceStarts { workspace: None });
        }
        let script = format!(
            "printf '#!/bin/sh\\n# Written by cargo xtask for one apt-get install; removed after it.\\nexit 101\\n' \
             > {POLICY_RC_D} && chmod 755 {POLICY_RC_D}"
        );
        workspace
            .run(privileged("sh").args(["-c", &script]))
            .context("failed to write a temporary policy-rc.d")?;
        Ok(DenyServiceStarts {
            workspace: Some(workspace),
        })
    }
}

impl Drop for DenyServiceStarts<'_> {
    fn drop(&mut self) {
        if let Some(workspace) = self.workspace
            && let Err(error) = workspace.run(privileged("rm").args(["-f", POLICY_RC_D]))
        {
            eprintln!("warning: could not remove the temporary {POLICY_RC_D}: {error:#}");
        }
    }
}

/// `program`, through sudo unless this process runs as root.
pub fn privileged(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    if root {
        Command::new(program)
    } else {
        let mut command = Command::new("sudo");
        command.arg(program);
        command
    }
}

/// Debian packages the end-to-end tests run, with the binaries of each
/// they use. Only the binaries are used: the tests start their own servers
/// on loopback, with their own configuration.
pub const TEST_PACKAGES: [(&str, &[&str]); 11] = [
    // tests/all/prometheus.rs
    ("prometheus", &["/usr/bin/prometheus", "/usr/bin/promtool"]),
    // The systems the real plugins observe (tests/all/systems.rs)...
    (
        "redis-server",
        &["/usr/bin/redis-server", "/usr/bin/redis-cli"],
    ),
    ("nginx", &["/usr/sbin/nginx"]),
    // ...and the exporters they are checked against.
    (
        "prometheus-redis-exporter",
        &["/usr/bin/prometheus-redis-exporter"],
    ),
    (
        "prometheus-nginx-exporter",
        &["/usr/bin/prometheus-nginx-exporter"],
    ),
    (
        "prometheus-node-exporter",
        &["/usr/bin/prometheus-node-exporter"],
    ),
    (
        "prometheus-blackbox-exporter",
        &["/usr/bin/prometheus-blackbox-exporter"],
    ),
    // Certificates for the https probes and the TLS tests.
    ("openssl", &["/usr/bin/openssl"]),
    // The TLS and basic-auth client of tests/all/web_config.rs.
    ("curl", &["/usr/bin/curl"]),
    // `systemd-analyze verify` of the unit file (tests/all/deploy.rs).
    ("systemd", &["/usr/bin/systemd-analyze"]),
    // The headless browser of the status page's test (tests/all/status_page.rs).
    ("chromium", &["/usr/bin/chromium"]),
];

/// Installs the [`TEST_PACKAGES`] whose binaries are missing, in one
/// apt-get run.
pub fn ensure_test_packages(workspace: &Workspace) -> Result<()> {
    let missing = || -> Vec<&str> {
        TEST_PACKAGES
            .iter()
            .filter(|(_, binaries)| binaries.iter().any(|b| !Path::new(b).is_file()))
            .map(|(package, _)| *package)
            .collect()
    };
    let packages = missing();
    if packages.is_empty() {
        return Ok(());
    }
    install(workspace, &packages, Recommends::Skip)?;
    let still = missing();
    if !still.is_empty() {
        bail!("the binaries of {still:?} are still missing after installing them");
    }
    Ok(())
}
