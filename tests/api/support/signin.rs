//! Page sessions without a browser: signing up or in through the forms as a browser would, then
//! getting pages and posting forms with the session's cookie and forgery token. For what a
//! browser would never send, and for the status codes it does not show.

use super::TestApp;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The password of accounts made through the sign-up form.
pub const PASSWORD: &str = "correct horse";
const FORM: &str = "application/x-www-form-urlencoded";

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

pub fn encoded(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// A signed-in browser, without the browser.
pub struct PageSession {
    /// `name=value`, as a `Cookie` header carries it.
    pub cookie: String,
    /// The forgery token the session's forms carry.
    pub csrf: String,
}

impl PageSession {
    /// Signs up through the form, with [`PASSWORD`].
    pub async fn sign_up(app: &TestApp, email: &str) -> PageSession {
        Self::start(app, "/signup", email, PASSWORD).await
    }

    /// Signs in through the form.
    pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> PageSession {
        Self::start(app, "/signin", email, password).await
    }

    async fn start(app: &TestApp, path: &str, email: &str, password: &str) -> PageSession {
        let response = client()
            .post(app.url(path))
            .header(CONTENT_TYPE, FORM)
            .body(encoded(&[("email", email), ("password", password)]))
            .send()
            .await
            .expect("the form is answered");
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{path} went through"
        );
        let cookie = response.headers()[SET_COOKIE]
            .to_str()
            .expect("a readable cookie")
            .split(';')
            .next()
            .expect("name=value")
            .to_owned();
        let mut session = PageSession {
            cookie,
            csrf: String::new(),
        };
        // Every signed-in page has a form: signing out.
        let (_, page) = session.get(app, "/").await;
        session.csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a forgery token in the page")
            .to_owned();
        session
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let response = client()
            .get(app.url(path))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("the page is answered");
        (response.status(), response.text().await.expect("a page"))
    }

    /// Posts a form with this session's forgery token; returns the status, where it redirects
    /// to, and the page.
    pub async fn post(
        &self,
        app: &TestApp,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let response = self.send(app, path, None, &fields).await;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, location, response.text().await.expect("a page"))
    }

    /// Posts exactly `form`, forgery token or not, from `origin` when given: as another site or
    /// a forger would.
    pub async fn post_as(
        &self,
        app: &TestApp,
        path: &str,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> StatusCode {
        self.send(app, path, origin, form).await.status()
    }

    async fn send(
        &self,
        app: &TestApp,
        path: &str,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = client()
            .post(app.url(path))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, FORM)
            .body(encoded(form));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send().await.expect("the form is answered")
    }
}

/// Signs in through the form; returns the session cookie (`name=value`).
pub async fn browser_session(app: &TestApp, email: &str, password: &str) -> String {
    PageSession::sign_in(app, email, password).await.cookie
}

/// Whether `cookie` still opens a page: the page itself, not a redirect to sign in.
pub async fn still_signed_in(app: &TestApp, cookie: &str) -> bool {
    let response = client()
        .get(app.url("/settings"))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("the settings page is answered");
    match response.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert_eq!(response.headers()[LOCATION], "/signin");
            false
        }
        other => panic!("the settings page answered {other}"),
    }
}

/// A login token from the API, or `None` when the password is refused.
pub async fn login_token(app: &TestApp, email: &str, password: &str) -> Option<String> {
    let (status, body) = app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await;
    (status == StatusCode::OK).then(|| body["token"].as_str().expect("a token").to_owned())
}
