//! TCP and UDP to granted `host:port` pairs, and name lookups of the
//! granted names (and of a probe's target).
//!
//! Every address a socket is about to use passes a check: a TCP socket may
//! connect to a granted address (a granted name's addresses included), and
//! take the implicit local address a connect needs, nothing else (no
//! listening, no explicit bind); UDP likewise when granted. Name lookup is
//! replaced by a function that looks up only granted names. A probe whose
//! plugin is granted its target may look that target up and connect to it
//! on any port.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, Host as LookupHost, HostResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpAddress, Network};
use wasmtime_wasi::p2::{DynPollable, SocketError};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtxView, WasiSocketsView};

use crate::grants::{Capability, Endpoint, Host};
use crate::sandbox::{Reach, Sandbox};

/// The resolve-address stream of the WASI implementation.
type ResolveAddressStream =
    wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::ResolveAddressStream;

/// Turns on the socket interfaces behind the check. They are on whether
/// or not anything is granted, so that every refused address goes through
/// the check and is counted: with no grant, the check refuses them all.
pub fn open(builder: &mut WasiCtxBuilder, reach: &Arc<Reach>) {
    let check = reach.clone();
    builder
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(true)
        .socket_addr_check(move |addr, use_| {
            let reach = check.clone();
            Box::pin(async move { allowed(&reach, addr, use_).await })
        });
}

/// Whether `addr` may be used as `use_`; a refusal is counted.
async fn allowed(reach: &Reach, addr: SocketAddr, use_: SocketAddrUse) -> bool {
    let (capability, endpoints) = match use_ {
        // The implicit local address of a connect: any port, no address.
        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind
            if addr.ip().is_unspecified() && addr.port() == 0 =>
        {
            return true;
        }
        SocketAddrUse::TcpConnect => (Capability::Tcp, &reach.grants().tcp),
        SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
            (Capability::Udp, &reach.grants().udp)
        }
        SocketAddrUse::TcpBind | SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => {
            reach.deny(Capability::Tcp, &format!("listen on {addr}"));
            return false;
        }
        SocketAddrUse::UdpBind => {
            reach.deny(Capability::Udp, &format!("bind {addr}"));
            return false;
        }
    };
    if capability == Capability::Tcp
        && let Some(target) = &reach.probe_host
        && resolves_to(reach, target, addr.ip(), 0).await
    {
        return true;
    }
    for endpoint in endpoints {
        if endpoint.port == addr.port()
            && resolves_to(reach, &endpoint.host, addr.ip(), endpoint.port).await
        {
            return true;
        }
    }
    reach.deny(capability, &format!("connect {addr}"));
    false
}

/// Whether `host` is, or resolves to, `ip` (a lookup ending at the call's
/// deadline).
async fn resolves_to(reach: &Reach, host: &Host, ip: IpAddr, port: u16) -> bool {
    match host {
        Host::Ip(granted) => *granted == ip,
        Host::Name(name) => {
            reach.work.call(name.len());
            let lookup = tokio::net::lookup_host((name.as_str(), port));
            match tokio::time::timeout_at(reach.deadline.into(), lookup).await {
                Ok(Ok(mut addrs)) => addrs.any(|a| a.ip() == ip),
                _ => false,
            }
        }
    }
}

/// Whether `name` may be looked up.
fn lookup_granted(reach: &Reach, name: &str) -> bool {
    let Ok(Host::Name(name)) = Host::parse(name) else {
        // An address "looked up" is returned as is by the implementation.
        return Host::parse(name).is_ok_and(|h| matches!(h, Host::Ip(_)));
    };
    let granted = |e: &Endpoint| e.host == Host::Name(name.clone());
    let grants = reach.grants();
    grants.tcp.iter().chain(&grants.udp).any(granted)
        || reach.probe_host == Some(Host::Name(name.clone()))
}

/// The name lookup of one call: the WASI implementation's, for granted
/// names only.
pub struct Lookup<'a> {
    inner: WasiSocketsCtxView<'a>,
    reach: Arc<Reach>,
}

impl network::Host for Lookup<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        self.inner.convert_error_code(error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<wasmtime_wasi::p2::bindings::io::error::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        self.inner.network_error_code(err)
    }
}

impl network::HostNetwork for Lookup<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.inner, this)
    }
}

impl LookupHost for Lookup<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        self.reach.work.call(name.len());
        if !lookup_granted(&self.reach, &name) {
            self.reach.deny(Capability::Dns, &name);
            return Err(ErrorCode::AccessDenied.into());
        }
        self.inner.resolve_addresses(network, name)
    }
}

impl HostResolveAddressStream for Lookup<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        self.inner.resolve_next_address(stream)
    }

    fn subscribe(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.inner.subscribe(stream)
    }

    fn drop(&mut self, stream: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.inner, stream)
    }
}

struct LookupData;

impl HasData for LookupData {
    type Data<'a> = Lookup<'a>;
}

/// Replaces `wasi:sockets/ip-name-lookup` with the checking lookup. The
/// linker must allow shadowing.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    ip_name_lookup::add_to_linker::<Sandbox, LookupData>(linker, |sandbox| {
        let reach = sandbox.reach.clone();
        Lookup {
            inner: sandbox.sockets(),
            reach,
        }
    })
}
