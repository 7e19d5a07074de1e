//! Browser sessions without a browser: signing in through the form as a browser would, and
//! asking whether a session cookie still opens the pages.

use super::TestApp;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

const FORM: &str = "application/x-www-form-urlencoded";

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// Signs in through the form; returns the session cookie (`name=value`).
pub async fn browser_session(app: &TestApp, email: &str, password: &str) -> String {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("email", email), ("password", password)])
        .finish();
    let response = client()
        .post(app.url("/signin"))
        .header(CONTENT_TYPE, FORM)
        .body(body)
        .send()
        .await
        .expect("the sign-in form is answered");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    response.headers()[SET_COOKIE]
        .to_str()
        .expect("a readable cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned()
}

/// Whether the cookie still opens a page: the page itself, not a redirect to sign in.
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
