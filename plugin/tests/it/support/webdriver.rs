//! A small W3C WebDriver client for the UI's browser tests: it starts Debian's `chromedriver`
//! (package chromium-driver, installed by scripts/lib/browser.sh) with headless Chromium, and
//! speaks the protocol's JSON over HTTP with reqwest.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Browser {
    /// Start chromedriver and a headless Chromium session (1280×900).
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromedriver ({e}): install Debian's chromium and chromium-driver with `source scripts/lib/browser.sh && browser_install`")
            });
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}");
        mosaic_tests::eventually("chromedriver to answer /status", 30, || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let r = http.get(format!("{url}/status")).send().await.ok()?;
                let v: Value = r.json().await.ok()?;
                v["value"]["ready"].as_bool().filter(|r| *r)
            }
        })
        .await;
        let profile = tempfile::tempdir().expect("browser profile dir");
        let binary = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("chromium");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run", "--disable-extensions",
                format!("--user-data-dir={}", profile.path().display())
            ]}
        }}});
        let r: Value = http
            .post(format!("{url}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session answer");
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver did not start a session: {r}"))
            .to_string();
        Self {
            driver,
            base: format!("{url}/session/{id}"),
            http,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("webdriver JSON");
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Run a script in the page (`return …`), with arguments.
    pub async fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The id of the first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    /// Click the element; found again when a live update replaced it in between.
    pub async fn click(&self, css: &str) {
        for _ in 0..20 {
            let id = self.find(css).await;
            let v: Value = self
                .http
                .post(format!("{}/element/{id}/click", self.base))
                .json(&json!({}))
                .send()
                .await
                .expect("webdriver call")
                .json()
                .await
                .expect("webdriver JSON");
            match v["value"]["error"].as_str() {
                None => return,
                Some("stale element reference") => continue,
                Some(e) => panic!("webdriver click {css}: {e}: {}", v["value"]["message"]),
            }
        }
        panic!("{css} kept being replaced while clicking it");
    }

    /// Replace an input's value as a user would type it.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.js(
            "document.querySelector(arguments[0]).value = ''; return true;",
            json!([css]),
        )
        .await;
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// The text of the open confirm() dialog, accepted.
    pub async fn accept_dialog(&self) -> String {
        let text = mosaic_tests::eventually("a confirmation dialog", 10, || async {
            let v: Value = self
                .http
                .get(format!("{}/alert/text", self.base))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            v["value"].as_str().map(str::to_string)
        })
        .await;
        self.call(reqwest::Method::POST, "/alert/accept", Some(json!({})))
            .await;
        text
    }

    /// Text of the first element matching `css` (empty when there is none).
    pub async fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Wait until the element's text contains `want`; returns the text.
    pub async fn wait_text(&self, css: &str, want: &str, secs: u64) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let t = self.text(css).await;
            if t.contains(want) {
                return t;
            }
            if std::time::Instant::now() > deadline {
                let at = self
                    .js(
                        "return location.href + ' ' + document.body.innerText;",
                        json!([]),
                    )
                    .await;
                panic!(
                    "timed out after {secs} s waiting for {css} to contain {want:?}; it says {t:?}; page: {at}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Save a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .expect("screenshot decodes");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session first (chromedriver then stops its Chromium), then the driver.
        if let Some(rest) = self.base.strip_prefix("http://")
            && let Some((host, path)) = rest.split_once('/')
            && let Ok(mut s) = std::net::TcpStream::connect(host)
        {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let mut sink = vec![];
            let _ = s.read_to_end(&mut sink);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
