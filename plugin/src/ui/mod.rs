//! `kubectl mosaic ui`: a local web UI served on loopback with the user's own kubeconfig
//! (the same connection as every other command), so it adds no in-cluster endpoint and no
//! privilege. Pages are rendered on the server from watch stores; one embedded script keeps
//! them live over server-sent events and sends the actions.

pub mod action_form;
pub mod actions;
pub mod app;
pub mod bind;
pub mod build_page;
pub mod explain;
pub mod facts;
pub mod html;
pub mod insight;
pub mod overview;
pub mod pages;
pub mod related;
pub mod security;
pub mod server;
pub mod state;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};

use clap::Args;

use crate::error::{Error, Outcome};
use crate::github::GitHubArgs;
use crate::kubeconf;
use crate::kubeconf::KubeArgs;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl mosaic ui\n  kubectl mosaic ui -A --port 8099 --no-browser"
)]
pub struct UiArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on. Anything but loopback exposes the UI (behind its token) to the network.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub address: IpAddr,
    /// Print the URL only; do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// The image of the Explain page's probe pod (needs sh and curl).
    #[arg(long, value_name = "IMAGE", default_value = mosaic_core::explain::probe::DEFAULT_IMAGE)]
    pub probe_image: String,
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Whether a graphical session can show a browser.
pub fn has_display(get: impl Fn(&str) -> Option<String>) -> bool {
    cfg!(target_os = "macos")
        || cfg!(windows)
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|k| get(k).is_some_and(|v| !v.is_empty()))
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        eprintln!("Could not start {opener}: open the URL above yourself.");
    }
}

/// The Host header values that name the server at `addr`.
pub fn hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut v = vec![addr.to_string()];
    if addr.ip().is_loopback() {
        v.push(format!("localhost:{port}"));
        v.push(format!("127.0.0.1:{port}"));
        v.push(format!("[::1]:{port}"));
    }
    v
}

pub async fn run(kube: &KubeArgs, args: UiArgs) -> Result<Outcome, Error> {
    let cluster = kubeconf::connect(kube).await?;
    let namespace = (!kube.all_namespaces).then(|| cluster.namespace.clone());
    let scope = match &namespace {
        Some(ns) => format!("namespace {ns}"),
        None => "all namespaces".into(),
    };
    if !args.address.is_loopback() {
        crate::output::warn(&format!(
            "--address {} is not loopback: anyone who can reach it and learns the URL's token acts as you",
            args.address
        ));
    }
    let listener = tokio::net::TcpListener::bind((args.address, args.port))
        .await
        .map_err(|e| {
            Error::Other(format!(
                "cannot listen on {}:{}: {e} (choose another --port)",
                args.address, args.port
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Other(format!("cannot read the listening address: {e}")))?;
    let keys = security::Keys {
        token: security::random_token(),
        csrf: security::random_token(),
        hosts: hosts(addr),
    };
    let url = format!("http://{addr}/?token={}", keys.token);
    let app = server::App {
        view: state::start(&cluster.client, namespace.as_deref()),
        keys,
        client: cluster.client.clone(),
        user: cluster.user.clone(),
        github: args.github.clone(),
        scope,
        home_ns: cluster.namespace.clone(),
        probe_image: args.probe_image.clone(),
    };
    println!("{url}");
    eprintln!(
        "Serving Mosaic's UI for {} at the URL above; Ctrl-C stops it.",
        app.scope
    );
    if !args.no_browser {
        if has_display(|k| std::env::var(k).ok()) {
            open_browser(&url);
        } else {
            eprintln!(
                "No display found: open the URL in a browser (or pass --no-browser to silence this)."
            );
        }
    }
    // Ctrl-C ends the process's serving at once: open event streams never end by themselves.
    tokio::select! {
        r = axum::serve(listener, server::router(app)) => {
            r.map_err(|e| Error::Other(format!("the UI server failed: {e}")))?;
        }
        _ = tokio::signal::ctrl_c() => eprintln!("Stopped."),
    }
    Ok(Outcome::Success)
}
