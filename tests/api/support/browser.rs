//! A real headless Chromium driven through chromedriver, one of each per test. The test
//! command installs both; a test fails loudly when they are missing.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::PATIENCE;

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a browser window of `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        Self::launch(json!({"args": Self::args(width, height)})).await
    }

    /// A browser that lays pages out as a phone `width` CSS pixels wide does: a desktop window
    /// is never narrower than 500 pixels.
    pub async fn phone(width: u32, height: u32) -> Browser {
        Self::launch(json!({
            "args": Self::args(width, height),
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}},
        }))
        .await
    }

    fn args(width: u32, height: u32) -> serde_json::Value {
        json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            format!("--window-size={width},{height}")
        ])
    }

    async fn launch(chrome_options: serde_json::Value) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // A process group of its own, so that dropping the browser ends Chromium too.
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; scripts/test installs it)");
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), chrome_options);
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no browser session from chromedriver: {e}"),
            }
        };
        Browser { client, driver }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    /// The element `css` selects, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let shown = match self.client.find(Locator::Css("body")).await {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!("no {css} on {url:?} ({e}); the page reads:\n{shown}")
            }
        }
    }

    /// Types `text` into the field `css` selects, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("the field takes text");
    }

    /// Clicks the element `css` selects. Live pages replace elements as they update: one
    /// replaced between finding and clicking is found again.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) => assert!(Instant::now() < deadline, "clicking {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The rendered text of the element `css` selects, read in one step so that a live page
    /// replacing it meanwhile cannot get in the way.
    pub async fn text(&self, css: &str) -> String {
        self.read(css, "innerText").await
    }

    /// An attribute of the element `css` selects.
    pub async fn attribute(&self, css: &str, name: &str) -> String {
        self.find(css).await;
        self.client
            .execute(
                "const e = document.querySelector(arguments[0]); \
                 return e ? e.getAttribute(arguments[1]) : null",
                vec![css.into(), name.into()],
            )
            .await
            .expect("the attribute is read")
            .as_str()
            .unwrap_or_else(|| panic!("{css} has no {name}"))
            .to_owned()
    }

    /// Whether the element `css` selects takes up room on the page (it and its parents shown).
    pub async fn is_shown(&self, css: &str) -> bool {
        self.find(css).await;
        self.client
            .execute(
                "return document.querySelector(arguments[0]).getClientRects().length > 0",
                vec![css.into()],
            )
            .await
            .expect("the page runs the script")
            .as_bool()
            .expect("a boolean")
    }

    /// A property of the element `css` selects, such as `textContent`.
    pub async fn property(&self, css: &str, property: &str) -> String {
        self.read(css, property).await
    }

    async fn read(&self, css: &str, property: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.find(css).await;
            let value = self
                .client
                .execute(
                    "const e = document.querySelector(arguments[0]); \
                     return e ? e[arguments[1]] : null",
                    vec![css.into(), property.into()],
                )
                .await
                .expect("the page runs the script");
            if let Some(text) = value.as_str() {
                return text.trim().to_owned();
            }
            assert!(Instant::now() < deadline, "{css} is gone");
        }
    }

    /// Waits until the page's path satisfies `ok` (a click returns before the next page has
    /// loaded); returns it.
    pub async fn wait_for_path(&self, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let url = self.client.current_url().await.expect("the URL");
            if ok(url.path()) {
                return url.path().to_owned();
            }
            assert!(Instant::now() < deadline, "still at {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the text of `css` satisfies `ok`, reloading the page between looks when
    /// `reload` is set; returns it.
    pub async fn wait_for_text(
        &self,
        css: &str,
        reload: bool,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.text(css).await;
            if ok(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{css} still reads {text:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            if reload {
                self.client.refresh().await.expect("the page reloads");
            }
        }
    }

    /// The window's width and the page's: equal when nothing sticks out sideways.
    pub async fn widths(&self) -> (u64, u64) {
        let widths = self
            .client
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth]",
                vec![],
            )
            .await
            .expect("the widths are read");
        (
            widths[0].as_u64().expect("a width"),
            widths[1].as_u64().expect("a width"),
        )
    }

    /// Leaves a mark in the page's script state: loading a page again wipes it.
    pub async fn mark(&self) {
        self.client
            .execute("window.upbeatMark = true", vec![])
            .await
            .expect("the mark is set");
    }

    /// Whether the mark left by [`Browser::mark`] is still there: the page was not reloaded.
    pub async fn is_marked(&self) -> bool {
        self.client
            .execute("return window.upbeatMark === true", vec![])
            .await
            .expect("the mark is read")
            .as_bool()
            .unwrap_or(false)
    }

    /// Saves a picture of the window as `docs/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Ends the session; dropping the browser then ends its processes.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A test that fails leaves no browser behind: the driver's whole process group ends.
impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}
