//! Host name resolution for checks, through an asynchronous resolver (no blocking thread per
//! lookup). Uses the system's configuration (`/etc/resolv.conf`, `/etc/hosts`) unless DNS
//! servers are configured. A failed lookup becomes a check error of kind `dns`.

use super::{CheckError, ErrorKind, Failure};
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::{Resolver as Hickory, TokioResolver};
use std::net::{IpAddr, SocketAddr};

/// Which DNS servers checks ask.
#[derive(Clone, Debug, Default)]
pub struct DnsSettings {
    /// Servers to query over UDP (TCP for long answers); the system's configuration when empty.
    pub servers: Vec<SocketAddr>,
}

pub(super) struct Resolver {
    inner: TokioResolver,
}

impl Resolver {
    pub fn new(settings: &DnsSettings) -> anyhow::Result<Self> {
        let mut builder = if settings.servers.is_empty() {
            match TokioResolver::builder_tokio() {
                Ok(b) => b,
                Err(e) => {
                    // Without a resolver configuration, IP addresses and localhost still work.
                    tracing::warn!(error = %e, "no system DNS configuration; only IP addresses and localhost resolve");
                    Hickory::builder_with_config(
                        ResolverConfig::default(),
                        TokioRuntimeProvider::default(),
                    )
                }
            }
        } else {
            let servers = settings
                .servers
                .iter()
                .map(|addr| {
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for connection in &mut server.connections {
                        connection.port = addr.port();
                    }
                    server
                })
                .collect();
            Hickory::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                TokioRuntimeProvider::default(),
            )
            .with_options(ResolverOpts::default())
        };
        // IPv4 first, IPv6 as well: a host whose IPv6 route is broken is still reached over IPv4.
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        Ok(Resolver {
            inner: builder.build()?,
        })
    }

    pub async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, Failure> {
        match self.inner.lookup_ip(host).await {
            Ok(found) => {
                let addrs: Vec<IpAddr> = found.iter().collect();
                if addrs.is_empty() {
                    Err(CheckError::new(ErrorKind::Dns, format!("{host}: no addresses")).into())
                } else {
                    Ok(addrs)
                }
            }
            Err(NetError::Io(e)) if super::is_local_failure(&e) => {
                Err(Failure::Local(format!("resolving {host}: {e}")))
            }
            Err(e) => Err(CheckError::new(ErrorKind::Dns, describe(host, &e)).into()),
        }
    }
}

fn describe(host: &str, e: &NetError) -> String {
    if e.is_nx_domain() {
        return format!("{host}: no such host (NXDOMAIN)");
    }
    if e.is_no_records_found() {
        return format!("{host}: no A or AAAA records");
    }
    match e {
        NetError::Timeout => format!("{host}: DNS lookup timed out"),
        NetError::NoConnections | NetError::Io(_) => format!("{host}: DNS server unreachable"),
        NetError::Dns(DnsError::ResponseCode(code)) => {
            format!("{host}: DNS server answered {code}")
        }
        other => format!("{host}: {other}"),
    }
}
