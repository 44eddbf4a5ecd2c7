//! Headless Chromium (Debian's `chromium` and `chromium-driver`) drives the real pages, and
//! axe-core checks each page a person sees for accessibility problems.
//!
//! Needs `/usr/bin/chromium`, `/usr/bin/chromedriver` (or `CHROMEDRIVER`) and axe-core from
//! `npm ci --prefix tests/browser`; `.ci/run` installs them. Missing tools fail the test.

#[path = "../api/helpers/mod.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

mod casework;
mod information_requests;
mod journal;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{Db, TestApp};
use samordna::accounts::Role;

mod sso;
mod statistics;

struct Driver {
    process: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn chromedriver() -> Driver {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {path}: {e}. Install Debian's chromium and chromium-driver (.ci/run does)."));
    Driver {
        process,
        port,
        _profile: tempfile::tempdir().unwrap(),
    }
}

async fn browser(driver: &Driver) -> Client {
    let chrome = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chrome,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=390,844",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let start = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(e) if start.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start headless Chromium through chromedriver: {e}"),
        }
    }
}

fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/node_modules/axe-core/axe.min.js"
        )
        .into()
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core not found at {path} ({e}): run `npm ci --prefix tests/browser`")
    })
}

/// Runs axe-core (WCAG 2.1 A and AA, and best practices) on the current page and returns the
/// violations as "rule: nodes" lines.
async fn axe_violations(client: &Client, axe: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.expect("inject axe-core");
    let result = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
                  .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                  .catch(e => done(['axe failed: ' + e]));"#,
            vec![],
        )
        .await
        .expect("run axe-core");
    serde_json::from_value(result).expect("a list of violations")
}

async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Scrolls the element with this id to the top of the window (for a screenshot of that part).
async fn scroll_to(client: &Client, id: &str) {
    client
        .execute(
            "document.getElementById(arguments[0]).scrollIntoView();",
            vec![serde_json::json!(id)],
        )
        .await
        .unwrap();
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits for an element to appear (after a page load) and returns its text.
async fn text_of(client: &Client, css: &str) -> String {
    text_until(client, css, |_| true).await
}

/// Waits until an element's text satisfies `ok` (the page may still be loading: an element of the
/// old page may go stale under us), and returns it. Gives up after 10 seconds.
async fn text_until(client: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if let Ok(text) = element.text().await {
                if ok(&text) {
                    return text;
                }
                last = text;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: waited 10 s; last text {last:?}");
}

async fn assert_accessible(client: &Client, axe: &str, page: &str) {
    let violations = axe_violations(client, axe).await;
    assert!(
        violations.is_empty(),
        "{page}: axe-core found {violations:#?}"
    );
}

#[actix_web::test]
async fn a_user_logs_in_through_the_real_login_page_and_the_pages_pass_axe() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let admin = app.add_user("socialtjanst", &[Role::Admin]).await;
    let driver = chromedriver();
    let client = browser(&driver).await;

    client.goto(&app.url("/")).await.unwrap();
    assert_accessible(&client, &axe, "start page, signed out").await;

    client.goto(&app.url("/login")).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Logga in – Samordna");
    assert_accessible(&client, &axe, "login page").await;
    screenshot(&client, "login").await;

    // A wrong password: the page says so and keeps the email.
    fill(&client, "email", &admin.email).await;
    fill(&client, "password", "fel-lösenord-123").await;
    click(&client, "main button[type=submit]").await;
    text_until(&client, "[role=alert]", |t| t.contains("stämmer inte")).await;
    let kept = client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(admin.email.as_str()));
    assert_accessible(&client, &axe, "login page with an error").await;

    // The right password leads to the second step: at the first login, setting up the app.
    fill(&client, "password", &admin.password).await;
    click(&client, "main button[type=submit]").await;
    text_until(&client, "h1", |t| t == "Skydda ditt konto med en app").await;
    assert_accessible(&client, &axe, "two-factor set-up").await;
    screenshot(&client, "two-factor-setup").await;
    let secret = admin.app.scan(&client.source().await.unwrap());
    let right = helpers::totp_code(&secret, helpers::unix_now());
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    fill(&client, "code", &wrong).await;
    click(&client, "main button[type=submit]").await;
    text_until(&client, "[role=alert]", |t| {
        t.contains("Koden stämmer inte")
    })
    .await;
    assert_accessible(&client, &axe, "two-factor set-up with a wrong code").await;
    fill(&client, "code", &admin.app.next_code().await).await;
    click(&client, "main button[type=submit]").await;
    text_until(&client, "h1", |t| t == "Spara dina reservkoder").await;
    assert_eq!(
        client
            .find_all(Locator::Css("ul.recovery-codes li"))
            .await
            .unwrap()
            .len(),
        10
    );
    assert_accessible(&client, &axe, "recovery codes").await;
    screenshot(&client, "recovery-codes").await;
    click(&client, "main a.button").await;
    let start = url::Url::parse(&app.url("/")).unwrap();
    client.wait().for_url(&start).await.unwrap();
    text_until(&client, "h1", |t| t.starts_with("Välkommen, Test Person")).await;
    assert_accessible(&client, &axe, "start page, signed in").await;
    screenshot(&client, "start").await;

    // The admin's user page, with form errors showing.
    client.goto(&app.url("/admin/users")).await.unwrap();
    click(
        &client,
        "form[action='/admin/users#ny'] button[type=submit]",
    )
    .await;
    text_until(&client, "#email-error", |t| t == "Fyll i e-postadressen.").await;
    assert_accessible(&client, &axe, "admin users page with errors").await;
    screenshot(&client, "admin-users-errors").await;

    // The webhook page, with the address refused beside its field.
    client.goto(&app.url("/admin/webhooks")).await.unwrap();
    fill(&client, "url", "http://arende.example.se/hook").await;
    click(
        &client,
        "form[action='/admin/webhooks#ny'] button[type=submit]",
    )
    .await;
    text_until(&client, "#url-error", |t| t.contains("https://")).await;
    assert_accessible(&client, &axe, "admin webhook page with errors").await;

    // Logging out brings the login page back.
    log_out(&client).await;

    // A teacher reads the outcome of their reports.
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    fill(&client, "email", &teacher.email).await;
    fill(&client, "password", &teacher.password).await;
    click(&client, "main button[type=submit]").await;
    client.wait().for_url(&start).await.unwrap();
    click(&client, "a[href='/mina-anmalningar']").await;
    text_until(&client, "h1", |t| t == "Mina anmälningar").await;
    assert_accessible(&client, &axe, "Mina anmälningar").await;
    client.close().await.unwrap();
}

async fn click_id(client: &Client, id: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn value_of(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Logs out with the button in the header and waits for the login page to say so.
async fn log_out(client: &Client) {
    click(client, "header form button").await;
    text_until(client, "[role=status]", |t| t == "Du är utloggad.").await;
}

async fn log_in(client: &Client, app: &TestApp, login: &helpers::Login, next: &str) {
    client
        .goto(&app.url(&format!("/login?next={next}")))
        .await
        .unwrap();
    fill(client, "email", &login.email).await;
    fill(client, "password", &login.password).await;
    click(client, "main button[type=submit]").await;
    let target = url::Url::parse(&app.url(next)).unwrap();
    // Staff roles pass a second step: the first time they set up their app from the QR page
    // and are shown their recovery codes; later they type the app's code.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let at = client.current_url().await.unwrap();
        if at == target {
            return;
        }
        if at.path() == "/login/kod" {
            break;
        }
        assert!(Instant::now() < deadline, "login stopped at {at}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = client.source().await.unwrap();
    let setting_up = page.contains("id=\"totp-secret\"");
    if setting_up {
        login.app.scan(&page);
    }
    fill(client, "code", &login.app.next_code().await).await;
    click(client, "main button[type=submit]").await;
    if setting_up {
        text_until(client, "h1", |t| t == "Spara dina reservkoder").await;
        click(client, "main a.button").await;
    }
    client.wait().for_url(&target).await.unwrap();
}

/// Fills the parts of the report form that are the same for everyone.
async fn fill_report(client: &Client, child: &str) {
    client
        .find(Locator::Id("municipality_id"))
        .await
        .unwrap()
        .select_by_label("Testkommun")
        .await
        .unwrap();
    fill(client, "children[0].name", child).await;
    fill(client, "children[0].birth_date", "2015-03-14").await;
    click_id(client, "children[0].told-yes").await;
    fill(
        client,
        "concern",
        "Barnet har flera gånger sagt att det är hungrigt och att ingen är hemma på kvällarna.",
    )
    .await;
    click_id(client, "category-neglect").await;
    click_id(client, "acute_danger-no").await;
    click_id(client, "police_informed-no").await;
}

#[actix_web::test]
async fn reports_are_filed_and_decided_through_the_pages_and_pass_axe() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    let driver = chromedriver();
    let client = browser(&driver).await;

    // A private person reports anonymously, from a phone-sized window.
    client.goto(&app.url("/")).await.unwrap();
    click(&client, "main a[href='/anmalan']").await;
    text_until(&client, "h1", |t| t == "Gör en orosanmälan").await;
    assert_accessible(&client, &axe, "public report form").await;
    screenshot(&client, "report-form").await;
    click(&client, "main form > p > button:not([name])").await;
    text_until(&client, "[id='children[0].name-error']", |t| {
        t.contains("barnets namn")
    })
    .await;
    assert_accessible(&client, &axe, "public report form with errors").await;
    screenshot(&client, "report-form-errors").await;

    click_id(&client, "identity-anonymous").await;
    fill_report(&client, "Alva Webbtest").await;
    click(&client, "button[value=child]").await;
    client
        .wait()
        .for_element(Locator::Id("children[1].name"))
        .await
        .unwrap();
    assert_eq!(value_of(&client, "children[0].name").await, "Alva Webbtest");
    fill(&client, "children[1].name", "Bo Webbtest").await;
    fill(&client, "children[1].birth_date", "2018-06-01").await;
    click_id(&client, "children[1].told-no").await;
    fill(
        &client,
        "children[1].not_told_reason",
        "För litet för att förstå",
    )
    .await;
    assert_accessible(&client, &axe, "public report form with two children").await;
    click(&client, "main form > p > button:not([name])").await;
    text_until(&client, "h1", |t| t == "Tack. Din anmälan är skickad.").await;
    let anonymous_ref = text_of(&client, ".reference").await;
    assert!(anonymous_ref.starts_with("OA-"), "{anonymous_ref}");
    text_until(&client, "main", |t| t.contains("010-000 00 00")).await;
    assert_accessible(&client, &axe, "receipt").await;
    screenshot(&client, "report-receipt").await;

    // A teacher files a named report; the details come from the account.
    log_in(&client, &app, &teacher, "/anmalan/yrkesverksam").await;
    text_until(&client, "dl.facts", |t| t.contains(&teacher.email)).await;
    assert_accessible(&client, &axe, "professional report form").await;
    fill_report(&client, "Cleo Webbtest").await;
    click(&client, "main form > p > button:not([name])").await;
    let professional_ref = text_of(&client, ".reference").await;
    assert_accessible(&client, &axe, "professional receipt").await;
    log_out(&client).await;

    // The intake officer sees both, most urgent first, and records assessment and decision.
    log_in(&client, &app, &intake, "/mottagning").await;
    let queue = text_of(&client, "table.queue").await;
    assert!(queue.contains(&anonymous_ref) && queue.contains(&professional_ref));
    assert!(!queue.contains("Webbtest"), "no names in the queue");
    assert_accessible(&client, &axe, "intake queue").await;
    screenshot(&client, "intake-queue").await;
    client
        .find(Locator::LinkText(&professional_ref))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_until(&client, "h1", |t| {
        t == format!("Anmälan {professional_ref}")
    })
    .await;
    text_until(&client, "main", |t| t.contains("Cleo Webbtest")).await;
    assert_accessible(&client, &axe, "report page").await;
    screenshot(&client, "report-page").await;

    click(&client, "form[action$='/skyddsbedomning'] button").await;
    text_until(&client, "[id='protection_needed-error']", |t| {
        t.contains("Svara ja eller nej")
    })
    .await;
    assert_accessible(&client, &axe, "report page with an error").await;
    click_id(&client, "protection_needed-no").await;
    fill(
        &client,
        "notes",
        "Talat med mentor. Inget akut skyddsbehov.",
    )
    .await;
    click(&client, "form[action$='/skyddsbedomning'] button").await;
    text_until(&client, "[role=status]", |t| {
        t == "Skyddsbedömningen är sparad."
    })
    .await;
    click_id(&client, "children[0].decision-open").await;
    fill(
        &client,
        "children[0].reason",
        "Upprepade uppgifter om brister i omsorgen.",
    )
    .await;
    click(&client, "form[action$='/beslut'] button").await;
    text_until(&client, "[role=status]", |t| t == "Beslutet är sparat.").await;
    text_until(&client, "#utredning > p", |t| {
        t.contains("Ska vara klar senast")
    })
    .await;
    assert_accessible(&client, &axe, "report page after the decision").await;
    screenshot(&client, "report-decided").await;

    // The anonymous report names two siblings: each gets a decision of its own.
    client.goto(&app.url("/mottagning")).await.unwrap();
    client
        .find(Locator::LinkText(&anonymous_ref))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_until(&client, "h1", |t| t == format!("Anmälan {anonymous_ref}")).await;
    click_id(&client, "protection_needed-no").await;
    click(&client, "form[action$='/skyddsbedomning'] button").await;
    text_until(&client, "[role=status]", |t| {
        t == "Skyddsbedömningen är sparad."
    })
    .await;
    click_id(&client, "children[0].decision-open").await;
    fill(&client, "children[0].reason", "Alva behöver utredas.").await;
    click_id(&client, "children[1].decision-not_open").await;
    click(&client, "form[action$='/beslut'] button").await;
    text_until(&client, "[id='children[1].reason-error']", |t| {
        t.contains("Skriv skälen")
    })
    .await;
    assert_eq!(
        value_of(&client, "children[0].reason").await,
        "Alva behöver utredas."
    );
    assert_accessible(&client, &axe, "two-sibling decision form with an error").await;
    scroll_to(&client, "children[1].reason").await;
    screenshot(&client, "two-siblings-error").await;
    fill(&client, "children[1].reason", "Bo får stöd via förskolan.").await;
    click(&client, "form[action$='/beslut'] button").await;
    text_until(&client, "[role=status]", |t| t == "Beslutet är sparat.").await;
    text_until(&client, "#beslut ~ h3", |t| {
        t.contains("Alva Webbtest: Utredning inleds")
    })
    .await;
    let decisions = text_of(&client, "main").await;
    assert!(
        decisions.contains("Bo Webbtest: Utredning inleds inte"),
        "each child's own decision"
    );
    text_until(&client, "#utredning > h2", |t| t.contains("Alva Webbtest")).await;
    assert_accessible(&client, &axe, "two-sibling report after the decisions").await;
    scroll_to(&client, "beslut").await;
    screenshot(&client, "two-siblings-decided").await;
    client.close().await.unwrap();
}

/// An acute report filed out of hours: the receipt gives socialjour's number and 112 first, and
/// the report stands first in the intake queue with a mark in words, not only in colour.
#[actix_web::test]
async fn an_acute_report_is_marked_first_in_the_queue_and_the_pages_pass_axe() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    app.set_intake_contacts(
        "Testkommun",
        Some(&helpers::office_hours_closed_now()),
        true,
    )
    .await;
    let driver = chromedriver();
    let client = browser(&driver).await;

    // An ordinary report first, then an acute one: both anonymous, through the public form.
    let mut references = Vec::new();
    for (child, acute) in [("Dana Webbtest", false), ("Eli Webbtest", true)] {
        client.goto(&app.url("/anmalan")).await.unwrap();
        click_id(&client, "identity-anonymous").await;
        fill_report(&client, child).await;
        if acute {
            click_id(&client, "acute_danger-yes").await;
        }
        click(&client, "main form > p > button:not([name])").await;
        text_until(&client, "h1", |t| t == "Tack. Din anmälan är skickad.").await;
        references.push(text_of(&client, ".reference").await);
    }
    let notice = text_of(&client, "#socialjour").await;
    assert!(
        notice.contains("Ring 112") && notice.contains(helpers::SOCIALJOUR_PHONE),
        "{notice}"
    );
    assert_accessible(&client, &axe, "receipt of an acute report out of hours").await;
    screenshot(&client, "report-receipt-acute").await;

    log_in(&client, &app, &intake, "/mottagning").await;
    let first_row = text_of(&client, "table.queue tbody tr:first-child").await;
    assert!(
        first_row.contains(&references[1]) && first_row.contains("AKUT: akut fara"),
        "{first_row}"
    );
    let second_row = text_of(&client, "table.queue tbody tr:nth-child(2)").await;
    assert!(
        second_row.contains(&references[0]) && !second_row.contains("AKUT"),
        "{second_row}"
    );
    assert_accessible(&client, &axe, "intake queue with an acute report").await;
    screenshot(&client, "intake-queue-acute").await;
    client
        .find(Locator::LinkText(&references[1]))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_until(&client, "#akut", |t| t.contains("AKUT anmälan.")).await;
    assert_accessible(&client, &axe, "acute report page").await;
    client.close().await.unwrap();
}

#[actix_web::test]
async fn a_caseworker_books_a_sip_meeting_and_a_partner_answers_by_link() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let caseworker = app.add_user("socialtjanst", &[Role::Caseworker]).await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    app.smtp.wait_for(2, Duration::from_secs(10)).await;
    let driver = chromedriver();
    let client = browser(&driver).await;

    log_in(&client, &app, &caseworker, "/sip").await;
    // Working hours on the profile page: a mistake is shown beside its field, then saved.
    client.goto(&app.url("/profil")).await.unwrap();
    let start = client.find(Locator::Id("start")).await.unwrap();
    start.clear().await.unwrap();
    start.send_keys("17:00").await.unwrap();
    click(&client, "form[action^='/profil/arbetstid'] button").await;
    text_until(&client, "#end-error", |t| t.contains("sluta efter")).await;
    assert_accessible(&client, &axe, "profile with an error").await;
    let start = client.find(Locator::Id("start")).await.unwrap();
    start.clear().await.unwrap();
    start.send_keys("08:00").await.unwrap();
    click(&client, "form[action^='/profil/arbetstid'] button").await;
    text_until(&client, "[role=status]", |t| {
        t == "Din arbetstid är sparad."
    })
    .await;
    assert_accessible(&client, &axe, "profile").await;
    client.goto(&app.url("/sip")).await.unwrap();
    assert_accessible(&client, &axe, "SIP list").await;
    click(&client, "form[action='/sip#ny'] button").await;
    text_until(&client, "#child_name-error", |t| t.contains("barnets namn")).await;
    assert_accessible(&client, &axe, "SIP list with an error").await;
    fill(&client, "child_name", "Dana Webbtest").await;
    click(&client, "form[action='/sip#ny'] button").await;
    text_until(&client, "h1", |t| t.ends_with("Dana Webbtest")).await;
    assert_accessible(&client, &axe, "a new SIP").await;

    // Consent covering the school (the teacher's organisation).
    click(&client, "details summary").await;
    fill(&client, "given_by", "Vårdnadshavare Webbtest").await;
    click_id(&client, "relation-guardian").await;
    for label in client
        .find_all(Locator::Css("#organisation_ids label"))
        .await
        .unwrap()
    {
        let for_id = label.attr("for").await.unwrap().unwrap();
        click_id(&client, &for_id).await;
    }
    click(&client, "form[action$='/samtycke#samtycke'] button").await;
    text_until(&client, "[role=status]", |t| {
        t == "Samtycket är registrerat."
    })
    .await;

    // Someone from an outside organisation the consent does not name is refused, the error beside
    // the field (consent limits every participant, with an account or without).
    fill(&client, "name", "Eva Terapeut").await;
    fill(&client, "email", "eva@lugnet.test").await;
    client
        .find(Locator::Id("covered_as"))
        .await
        .unwrap()
        .select_by_value("outside")
        .await
        .unwrap();
    fill(&client, "outside_organisation", "Lugnets terapi").await;
    click(&client, "form[action$='/deltagare#deltagare'] button").await;
    text_until(&client, "#outside_organisation-error", |t| {
        t.contains("omfattar inte Lugnets terapi")
    })
    .await;
    assert_accessible(&client, &axe, "SIP with a participant refused").await;

    // The teacher joins; a meeting is booked.
    client
        .find(Locator::Id("user_id"))
        .await
        .unwrap()
        .select_by_index(1)
        .await
        .unwrap();
    click(&client, "form[action$='/deltagare#deltagare'] button").await;
    text_until(&client, "[role=status]", |t| t == "Deltagaren är tillagd.").await;
    // Find a time: the suggestions, then one click books the best one.
    click(&client, "form[action$='/tider'] button").await;
    text_until(&client, "h1", |t| t.starts_with("Hitta en tid")).await;
    text_until(&client, "ul.slots", |t| t.contains("Boka")).await;
    assert_accessible(&client, &axe, "find a time").await;
    screenshot(&client, "sip-find-time").await;
    fill(&client, "place", "Kommunhuset, rum 2").await;
    click(&client, "ul.slots button").await;
    text_until(&client, "[role=status]", |t| {
        t == "Mötet är bokat och inbjudningarna är skickade."
    })
    .await;
    text_until(&client, "section.meeting", |t| t.contains("Inget svar")).await;
    assert_accessible(&client, &axe, "SIP with a booked meeting").await;
    screenshot(&client, "sip-booked").await;

    // The teacher answers with the link in the invitation, without logging in.
    let mails = app.smtp.wait_for(4, Duration::from_secs(15)).await;
    let invitation = mails
        .iter()
        .find(|m| {
            m.to.iter().any(|t| t.contains(&teacher.email))
                && m.parsed()
                    .subject()
                    .unwrap_or_default()
                    .starts_with("Inbjudan")
        })
        .expect("the teacher's invitation");
    let text = invitation.parsed().body_text(0).unwrap().to_string();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/svar/"))
        .unwrap()
        .to_string();
    let path = &link[link.find("/svar/").unwrap()..];
    log_out(&client).await;
    client.goto(&app.url(path)).await.unwrap();
    assert_accessible(&client, &axe, "answer page").await;
    click(&client, "button[value=accepted]").await;
    text_until(&client, "[role=status]", |t| t.contains("Kommer")).await;
    assert_accessible(&client, &axe, "answer page, answered").await;
    screenshot(&client, "sip-answer").await;

    log_in(&client, &app, &caseworker, "/sip").await;
    click(&client, "main table a").await;
    text_until(&client, "section.meeting", |t| t.contains("Kommer")).await;

    // The plan after the meeting, and the family's printable copy.
    click(&client, "a[href$='/plan'][href*='/moten/']").await;
    text_until(&client, "h1", |t| t.starts_with("Planen efter mötet")).await;
    assert_accessible(&client, &axe, "plan form").await;
    fill(&client, "needs", "Trygghet i skolan.").await;
    fill(&client, "goals[0]", "Jag vill ha en vuxen att prata med.").await;
    fill(
        &client,
        "measures[0].description",
        "Samtal med mentor varje vecka",
    )
    .await;
    for (id, index) in [
        ("measures[0].organisation_id", 1),
        ("lead_organisation_id", 1),
    ] {
        client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .select_by_index(index)
            .await
            .unwrap();
    }
    client
        .find(Locator::Id("measures[0].principal"))
        .await
        .unwrap()
        .select_by_value("kommun")
        .await
        .unwrap();
    click(&client, "main form button[type=submit]").await;
    text_until(&client, "[role=status]", |t| t == "Planen är sparad.").await;
    text_until(&client, "main", |t| {
        t.contains("Jag vill ha en vuxen att prata med.")
    })
    .await;
    assert_accessible(&client, &axe, "plan page").await;
    screenshot(&client, "sip-plan").await;

    // The teacher, logged in, sees the meeting, their answer and the plan.
    log_out(&client).await;
    log_in(&client, &app, &teacher, "/mina-moten").await;
    text_until(&client, "main", |t| t.contains("Ditt svar: Kommer")).await;
    assert_accessible(&client, &axe, "Mina SIP-möten").await;
    click(&client, "main a[href$='/plan']").await;
    text_until(&client, "main", |t| {
        t.contains("Jag vill ha en vuxen att prata med.")
    })
    .await;
    assert_accessible(&client, &axe, "the plan, as a partner").await;
    client.close().await.unwrap();
}

#[actix_web::test]
async fn a_teacher_consults_without_a_name_and_turns_it_into_a_report() {
    let axe = axe_source();
    let app = TestApp::spawn(Db::Sqlite).await;
    let teacher = app.add_user("skola", &[Role::Reporter]).await;
    let intake = app.add_user("socialtjanst", &[Role::Intake]).await;
    let driver = chromedriver();
    let client = browser(&driver).await;
    let situation = "En elev i årskurs 3 kommer ofta hungrig och säger att ingen lagar mat hemma.";

    // The teacher asks, first without filling anything in.
    log_in(&client, &app, &teacher, "/konsultation").await;
    text_until(&client, "h1", |t| t == "Konsultation utan namn").await;
    assert_accessible(&client, &axe, "consultation form").await;
    click(&client, "main form > p > button").await;
    text_until(&client, "[id='situation-error']", |t| {
        t.contains("Beskriv situationen")
    })
    .await;
    assert_accessible(&client, &axe, "consultation form with errors").await;
    fill(&client, "situation", "Eleven heter Dana och är hungrig.").await;
    fill(&client, "child_age", "9").await;
    fill(&client, "unit", "Ekbackens skola, åk 3").await;
    click(&client, "main form > p > button").await;
    text_until(&client, "[id='situation-error']", |t| {
        t.contains("ser ut som ett namn")
    })
    .await;
    assert_eq!(value_of(&client, "unit").await, "Ekbackens skola, åk 3");
    client
        .find(Locator::Id("situation"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    fill(&client, "situation", situation).await;
    click(&client, "main form > p > button").await;
    let heading = text_until(&client, "h1", |t| t.starts_with("Konsultation KO-")).await;
    let reference = heading.trim_start_matches("Konsultation ").to_string();
    text_until(&client, "[role=status]", |t| {
        t.contains("Din fråga är skickad")
    })
    .await;
    assert_accessible(&client, &axe, "consultation asked").await;
    screenshot(&client, "consultation-asked").await;
    log_out(&client).await;

    // Intake answers from its list.
    log_in(&client, &app, &intake, "/konsultationer").await;
    text_until(&client, "main", |t| t.contains("1 väntar på svar")).await;
    assert_accessible(&client, &axe, "intake's consultations").await;
    client
        .find(Locator::LinkText(&reference))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_until(&client, "main", |t| t.contains(situation)).await;
    assert_accessible(&client, &axe, "consultation with the answer form").await;
    fill(&client, "answer", "Det du beskriver bör anmälas.").await;
    click_id(&client, "should_report-yes").await;
    click(&client, "main form > p > button").await;
    text_until(&client, "[role=status]", |t| {
        t.contains("Svaret är skickat")
    })
    .await;
    assert_accessible(&client, &axe, "consultation answered").await;
    log_out(&client).await;

    // The teacher reads the answer and makes it a report, the text carried over.
    log_in(&client, &app, &teacher, "/konsultation").await;
    client
        .find(Locator::LinkText(&reference))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_until(&client, "main", |t| {
        t.contains("Det du beskriver bör anmälas.")
    })
    .await;
    assert_accessible(&client, &axe, "consultation with its answer").await;
    screenshot(&client, "consultation-answered").await;
    click(&client, "main a.button").await;
    text_until(&client, "h1", |t| t == "Orosanmälan från yrkesverksam").await;
    assert_eq!(value_of(&client, "concern").await, situation);
    assert_accessible(&client, &axe, "report form from a consultation").await;
    fill(&client, "children[0].name", "Dana Webbtest").await;
    fill(&client, "children[0].birth_date", "2017-02-01").await;
    click_id(&client, "children[0].told-yes").await;
    click_id(&client, "category-neglect").await;
    click_id(&client, "acute_danger-no").await;
    click_id(&client, "police_informed-no").await;
    click(&client, "main form > p > button:not([name])").await;
    text_until(&client, "h1", |t| t == "Tack. Din anmälan är skickad.").await;
    assert!(text_of(&client, ".reference").await.starts_with("OA-"));
    assert_accessible(&client, &axe, "receipt of a converted consultation").await;
    client.close().await.unwrap();
}
