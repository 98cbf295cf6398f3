//! The builders' egress at install: the user's choices, with the API server's addresses read
//! from `endpoints/kubernetes` when none were chosen, so the builders' NetworkPolicy lets them
//! reach it and no other private address.

use k8s_openapi::api::core::v1::Endpoints;
use kube::Client;
use kube::api::Api;

use mosaic_core::install_settings::Settings;
use mosaic_core::netpol::Egress;

/// The builders' egress: the settings', with the API server's addresses read from
/// `endpoints/kubernetes` when none were chosen (not remembered: read again on each install).
pub async fn egress(client: &Client, settings: &Settings) -> Egress {
    let mut e = settings.egress();
    if !e.api_server.is_empty() {
        return e;
    }
    let api: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    let found = match api.get_opt("kubernetes").await {
        Ok(ep) => ep.map(|ep| api_server_cidrs(&ep)).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    if found.is_empty() {
        eprintln!(
            "the API server's address is unknown (no endpoints/kubernetes): builders may reach the private ranges on ports 443 and 6443; narrow it with --api-server-cidr"
        );
    } else {
        eprintln!(
            "builders may reach the API server at {} (endpoints/kubernetes; --api-server-cidr to choose)",
            found.join(", ")
        );
    }
    e.api_server = found;
    e
}

/// The addresses of the `kubernetes` Endpoints, as single-address CIDRs.
pub fn api_server_cidrs(ep: &Endpoints) -> Vec<String> {
    let mut out: Vec<String> = ep
        .subsets
        .iter()
        .flatten()
        .flat_map(|s| s.addresses.iter().flatten())
        .map(|a| {
            let bits = if a.ip.contains(':') { 128 } else { 32 };
            format!("{}/{bits}", a.ip)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_server_is_read_from_its_endpoints() {
        let ep: Endpoints = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "172.18.0.2"}, {"ip": "fd00::2"}],
                "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]
        }))
        .unwrap();
        assert_eq!(api_server_cidrs(&ep), ["172.18.0.2/32", "fd00::2/128"]);
    }
}
