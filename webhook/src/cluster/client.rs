//! The webhook's connection to the Kubernetes API server: kube's own client stack (TLS, base
//! URI, retries of 429/503/504, authentication with token refresh, extra headers, connect and
//! write timeouts), with one change: its sockets set `TCP_NODELAY`.
//!
//! Why: kube's default connector leaves Nagle's algorithm on. On every new connection the
//! client's TLS Finished goes out alone, and the HTTP request behind it is then held until the
//! API server's delayed ACK, about 40 ms later (seen in a packet capture of the intake benchmark).
//! New connections open whenever more Build creates are in flight than idle connections, so
//! that wait landed right in the intake's p99. A configuration this stack does not reproduce (a
//! proxy, or client certificates from an exec plugin, which expire) keeps kube's default client.

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::{ClientBuilder, ConfigExt, retry::RetryPolicy};
use kube::{Client, Config};
use tower::{BoxError, ServiceBuilder, retry::RetryLayer};

/// A client for the in-cluster configuration, or `KUBECONFIG`'s current context.
pub async fn connect() -> Result<Client, kube::Error> {
    let config = Config::infer().await.map_err(kube::Error::InferConfig)?;
    build(config)
}

/// A client for `config`, with `TCP_NODELAY` where the configuration allows (see above).
pub fn build(config: Config) -> Result<Client, kube::Error> {
    if !nodelay_stack_applies(&config) {
        return Client::try_from(config);
    }
    let https = config.rustls_https_connector_with_connector(tcp_connector())?;
    let mut timed = hyper_timeout::TimeoutConnector::new(https);
    timed.set_connect_timeout(config.connect_timeout);
    timed.set_read_timeout(config.read_timeout);
    timed.set_write_timeout(config.write_timeout);
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(timed);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client);
    Ok(ClientBuilder::new(service, config.default_namespace).build())
}

/// The TCP layer under TLS: any scheme (TLS sits above it), and `TCP_NODELAY` on.
fn tcp_connector() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http
}

/// Whether [`build`]'s own stack covers `config`: no proxy (kube picks an HTTP or SOCKS proxy
/// connector for it) and no exec plugin (its client certificates carry an expiry that only kube's
/// default builder tracks).
fn nodelay_stack_applies(config: &Config) -> bool {
    config.proxy_url.is_none() && config.auth_info.exec.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::new("https://127.0.0.1:6443".parse().unwrap())
    }

    #[tokio::test]
    async fn the_connector_under_tls_sets_tcp_nodelay() {
        use tower::ServiceExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("https://{}", listener.local_addr().unwrap());
        let io = tcp_connector().oneshot(uri.parse().unwrap()).await.unwrap();
        assert!(
            io.inner().nodelay().unwrap(),
            "Nagle's algorithm is still on"
        );
    }

    #[test]
    fn a_plain_config_gets_the_nodelay_stack_and_a_proxy_or_exec_plugin_does_not() {
        assert!(nodelay_stack_applies(&config()));
        let mut proxied = config();
        proxied.proxy_url = Some("http://proxy:3128".parse().unwrap());
        assert!(!nodelay_stack_applies(&proxied));
        let mut exec = config();
        exec.auth_info.exec = Some(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "get-token",
            }))
            .unwrap(),
        );
        assert!(!nodelay_stack_applies(&exec));
    }
}
