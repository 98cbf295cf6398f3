//! The NetworkPolicies `install` applies: the intake admits deliveries on its port only; the
//! builder pods (whose engine runs untrusted `RUN` steps, which share the pod's network) may
//! reach DNS, the internet on the registry and GitHub ports, and the API server's addresses,
//! and nothing else: not the link-local metadata address, not the private ranges the cluster's
//! pods and Services live in. What a policy does depends on the cluster's network plugin
//! enforcing it; these only express it.

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::install::{part_meta, selector};
use crate::names;
use crate::rbac::Part;

/// Destinations builder pods may not reach by default: link-local (cloud metadata), loopback,
/// the private and shared ranges pod and Service CIDRs are taken from, and their IPv6 peers.
pub const DEFAULT_DENY: &[&str] = &[
    "169.254.0.0/16",
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
    "fe80::/10",
];
/// Ports builder pods may reach outside the denied ranges: HTTPS and HTTP (registries, GitHub,
/// package mirrors a Dockerfile fetches from).
pub const DEFAULT_PORTS: &[u16] = &[443, 80];
/// When the API server's addresses are not known (`kubectl apply -k`, or `install` could not
/// read `endpoints/kubernetes`): the private ranges, on the API server's usual ports.
pub const FALLBACK_API_SERVER: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
/// The API server's usual ports (behind the `kubernetes` Service, and its own).
pub const API_SERVER_PORTS: &[u16] = &[443, 6443];

/// The builders' egress choices (`install --api-server-cidr`, `--builder-egress-port`,
/// `--builder-deny-cidr`); empty lists mean the defaults above.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Egress {
    /// The API server's addresses, as CIDRs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_server: Vec<String>,
    /// Ports allowed outside the denied ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
    /// Ranges denied (replacing [`DEFAULT_DENY`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// Is `s` an IPv4 or IPv6 CIDR (`ADDRESS/PREFIX`)?
pub fn cidr_ok(s: &str) -> bool {
    let Some((addr, prefix)) = s.split_once('/') else {
        return false;
    };
    match (addr.parse::<std::net::IpAddr>(), prefix.parse::<u8>()) {
        (Ok(std::net::IpAddr::V4(_)), Ok(p)) => p <= 32,
        (Ok(std::net::IpAddr::V6(_)), Ok(p)) => p <= 128,
        _ => false,
    }
}

fn port(p: u16, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(p))),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

fn block(cidr: &str, except: Vec<String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.into(),
            except: (!except.is_empty()).then_some(except),
        }),
        ..Default::default()
    }
}

fn or_default<T: Clone>(given: &[T], default: &[T]) -> Vec<T> {
    if given.is_empty() {
        default.to_vec()
    } else {
        given.to_vec()
    }
}

fn admit_webhook_port() -> Vec<NetworkPolicyIngressRule> {
    vec![NetworkPolicyIngressRule {
        ports: Some(vec![port(names::WEBHOOK_PORT, "TCP")]),
        ..Default::default()
    }]
}

/// Admits traffic to the intake pods on the webhook port only.
pub fn intake_network_policy() -> NetworkPolicy {
    NetworkPolicy {
        metadata: part_meta(Part::Intake),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(Part::Intake)),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(admit_webhook_port()),
            ..Default::default()
        }),
    }
}

/// The builder pods: in, only the webhook port (probes, metrics); out, DNS, the API server,
/// and the allowed ports anywhere outside the denied ranges.
pub fn builder_network_policy(e: &Egress) -> NetworkPolicy {
    let deny: Vec<String> = or_default(
        &e.deny,
        &DEFAULT_DENY
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    );
    let (v6, v4): (Vec<String>, Vec<String>) = deny.into_iter().partition(|c| c.contains(':'));
    let ports = or_default(&e.ports, DEFAULT_PORTS);
    let api: Vec<String> = or_default(
        &e.api_server,
        &FALLBACK_API_SERVER
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    );
    let egress = vec![
        NetworkPolicyEgressRule {
            ports: Some(vec![port(53, "UDP"), port(53, "TCP")]),
            ..Default::default()
        },
        NetworkPolicyEgressRule {
            to: Some(api.iter().map(|c| block(c, Vec::new())).collect()),
            ports: Some(API_SERVER_PORTS.iter().map(|p| port(*p, "TCP")).collect()),
        },
        NetworkPolicyEgressRule {
            to: Some(vec![block("0.0.0.0/0", v4), block("::/0", v6)]),
            ports: Some(ports.iter().map(|p| port(*p, "TCP")).collect()),
        },
    ];
    NetworkPolicy {
        metadata: part_meta(Part::Builder),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(Part::Builder)),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(admit_webhook_port()),
            egress: Some(egress),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(p: &NetworkPolicy, rule: usize) -> Vec<(String, Vec<String>)> {
        p.spec.as_ref().unwrap().egress.as_ref().unwrap()[rule]
            .to
            .iter()
            .flatten()
            .map(|peer| {
                let b = peer.ip_block.clone().unwrap();
                (b.cidr, b.except.unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn builders_are_kept_from_metadata_and_private_ranges_by_default() {
        let p = builder_network_policy(&Egress::default());
        let spec = p.spec.clone().unwrap();
        assert_eq!(
            spec.policy_types.unwrap(),
            ["Ingress".to_string(), "Egress".to_string()]
        );
        let out = peers(&p, 2);
        assert_eq!(out[0].0, "0.0.0.0/0");
        for denied in [
            "169.254.0.0/16",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
        ] {
            assert!(out[0].1.iter().any(|c| c == denied), "{denied}");
        }
        assert_eq!(out[1].0, "::/0");
        assert!(out[1].1.iter().all(|c| c.contains(':')));
        let ports: Vec<_> = spec.egress.unwrap()[2]
            .ports
            .clone()
            .unwrap()
            .into_iter()
            .map(|p| p.port.unwrap())
            .collect();
        assert_eq!(ports, [IntOrString::Int(443), IntOrString::Int(80)]);
        // The DNS rule has ports and no destination; nothing allows every port anywhere.
        for rule in p.spec.unwrap().egress.unwrap() {
            assert!(rule.ports.is_some(), "{rule:?}");
        }
    }

    #[test]
    fn choices_replace_the_defaults() {
        let e = Egress {
            api_server: vec!["172.18.0.2/32".into()],
            ports: vec![443, 5000],
            deny: vec!["169.254.0.0/16".into()],
        };
        let p = builder_network_policy(&e);
        assert_eq!(peers(&p, 1), [("172.18.0.2/32".to_string(), vec![])]);
        assert_eq!(
            peers(&p, 2)[0],
            ("0.0.0.0/0".to_string(), vec!["169.254.0.0/16".to_string()])
        );
        assert_eq!(peers(&p, 2)[1], ("::/0".to_string(), vec![]));
    }

    #[test]
    fn cidrs_are_checked() {
        for ok in ["10.0.0.0/8", "172.18.0.2/32", "fc00::/7", "::/0"] {
            assert!(cidr_ok(ok), "{ok}");
        }
        for bad in ["10.0.0.0", "10.0.0.0/33", "host/8", "fc00::/129", ""] {
            assert!(!cidr_ok(bad), "{bad}");
        }
    }
}
