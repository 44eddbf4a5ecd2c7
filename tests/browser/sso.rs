//! Single sign-on in a real browser (issue 20): headless Chromium signs in through the real
//! OpenID provider's own login and consent pages (`oidc-provider`, tests/oidc/provider.mjs) —
//! an intake officer whose provider checked two factors (no local code) and a teacher — and
//! logging out reaches the provider's end-session page and comes back to the login page.
//! axe-core checks every page of the service in the flow.

use super::*;
use helpers::{real_provider, Person, LOA2, LOA3};

/// From the login page, through the provider's button and its pages, to the start page.
async fn sign_in_at_provider(client: &Client, app: &TestApp, axe: &str, login: &str) {
    client.goto(&app.url("/login")).await.unwrap();
    assert_accessible(client, axe, "login page with a provider").await;
    text_until(client, "a.button", |t| {
        t == "Logga in med Ekby kommuns inloggning"
    })
    .await;
    click(client, "a.button").await;
    text_until(client, "h1", |t| t == "Logga in hos testleverantören").await;
    fill(client, "login", login).await;
    fill(client, "password", "provlosen").await;
    click(client, "form[action$='/login'] button").await;
    // The provider's consent page, the first time this person signs in to this client.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let heading = match client.find(Locator::Css("h1")).await {
            Ok(h) => h.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if heading == "Godkänn" {
            click(client, "form[action$='/confirm'] button").await;
        }
        if heading.starts_with("Välkommen") {
            break;
        }
        assert!(Instant::now() < deadline, "sign-in stopped at {heading:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn staff_sign_in_through_the_providers_own_pages_and_the_pages_pass_axe() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let idp = real_provider(
        &app,
        &[
            Person {
                login: "handlaggare",
                email: &intake.email,
                acr: LOA3,
            },
            Person {
                login: "larare",
                email: &teacher.email,
                acr: LOA2,
            },
        ],
    );
    app.add_identity_provider("Ekby kommuns inloggning", &idp.issuer, &[LOA3])
        .await;
    let driver = chromedriver();
    let client = browser(&driver).await;

    // The intake officer: the provider checked two factors, so no code is asked.
    sign_in_at_provider(&client, &app, &axe, "handlaggare").await;
    assert_accessible(&client, &axe, "start page after single sign-on").await;
    screenshot(&client, "sso-start").await;
    client.goto(&app.url("/mottagning")).await.unwrap();
    text_until(&client, "h1", |t| t == "Inkomna anmälningar").await;

    // Logging out goes through the provider's end-session page and back to the login page.
    click(&client, "header form button").await;
    text_until(&client, "h1", |t| t.to_lowercase().contains("sign-out")).await;
    click(&client, "button[value=yes]").await;
    text_until(&client, "[role=status]", |t| t == "Du är utloggad.").await;
    assert_accessible(
        &client,
        &axe,
        "login page after logging out at the provider",
    )
    .await;

    // A teacher.
    sign_in_at_provider(&client, &app, &axe, "larare").await;
    assert_accessible(&client, &axe, "teacher's start page after single sign-on").await;
    client.close().await.unwrap();
}
