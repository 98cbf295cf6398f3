//! Where a registry's `Bearer` challenge may send the credentials: the token realm. The
//! registry names it, so a registry (or whoever answers in its place) could send the
//! credentials in clear text to any address. A realm must be `https`, except on this machine
//! (`localhost`, `127.0.0.0/8`, `::1`), where a test or a local registry serves plain HTTP.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Is `host` (as a URL parser gives it: `localhost`, `127.0.0.1`, `[::1]`, no port) this
/// machine? Addresses are parsed, so `127.0.0.1.example.com` is not loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    h.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || h.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// May credentials be sent to a token realm with this `scheme` and `host` (both as a URL
/// parser gives them)? `Err` says why not, naming the realm's scheme and host only (a realm's
/// query could carry anything).
pub fn check_realm(scheme: &str, host: Option<&str>) -> Result<(), String> {
    let host = host.unwrap_or("");
    match scheme.to_ascii_lowercase().as_str() {
        "https" if !host.is_empty() => Ok(()),
        "http" if is_loopback_host(host) => Ok(()),
        "http" => Err(format!(
            "the registry's token realm is plain http://{host}: credentials are only sent to an \
             https realm (plain HTTP is allowed on loopback only); configure the registry's \
             token service with https"
        )),
        other => Err(format!(
            "the registry's token realm {other}://{host} is not an https URL; credentials are \
             only sent to an https realm"
        )),
    }
}
