//! Reports through the web pages, on both databases: the public and professional forms, the
//! intake queue, a report with the officer's forms, and investigations.

use std::time::Duration;

use diesel::prelude::*;
use samordna::accounts::Role;
use samordna::db::schema::{audit_log, intake_queue, report_reporters, reports, sessions};

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

const CHILD_NAME: &str = "Kim Webbtestbarn";
const CHILD_PN: &str = "20121212-1212";
const CONCERN: &str = "Barnet kommer utan ytterkläder och säger att det inte fått frukost.";

/// A complete report as the form posts it.
fn complete(municipality_id: &str) -> Vec<(&'static str, String)> {
    [
        ("municipality_id", municipality_id),
        ("children[0].personal_number", CHILD_PN),
        ("children[0].name", CHILD_NAME),
        ("children[0].school", "Björkskolan"),
        ("children[0].told", "no"),
        ("children[0].not_told_reason", "Barnet är rädd"),
        ("guardians[0].name", "Vårdnadshavare Ett"),
        ("guardians[0].told", "yes"),
        ("concern", CONCERN),
        ("categories", "neglect"),
        ("acute_danger", "no"),
        ("police_informed", "no"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

fn with<'a>(
    mut fields: Vec<(&'a str, String)>,
    more: &[(&'a str, &str)],
) -> Vec<(&'a str, String)> {
    fields.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
    fields
}

async fn post_form(app: &TestApp, page: &str, fields: &[(&str, String)]) -> (u16, String) {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = app.submit(page, page, &borrowed).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn count_reporters(app: &TestApp) -> i64 {
    app.conn(|c| report_reporters::table.count().get_result(c).unwrap())
        .await
}

/// The reference on a receipt page.
fn reference_in(html: &str) -> String {
    let marker = "<strong class=\"reference\">";
    let start = html.find(marker).expect("a receipt") + marker.len();
    html[start..start + 10].to_string()
}

async fn public_form_keeps_what_was_typed_and_files_anonymously_or_named(app: TestApp) {
    app.add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let page = app.page("/anmalan").await;
    assert!(
        page.contains(&format!("value=\"{ekby}\"")),
        "Ekby in the list"
    );

    // "Add another child" is a plain submit button: a new empty row, everything kept.
    let (status, html) = post_form(
        &app,
        "/anmalan",
        &with(complete(&ekby), &[("add", "child")]),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("name=\"children[1].name\""),
        "a second child row"
    );
    assert!(html.contains(&format!("value=\"{CHILD_NAME}\"")));
    assert!(
        !html.contains("class=\"error\""),
        "adding a row is not an error"
    );

    // Mistakes: 422, every value kept, each error beside its field.
    let mut wrong = complete(&ekby);
    wrong.retain(|(k, _)| *k != "acute_danger" && *k != "categories");
    wrong[1].1 = "20121212-1213".into();
    let (status, html) = post_form(&app, "/anmalan", &wrong).await;
    assert_eq!(status, 422);
    for (field, message) in [
        ("identity", "Välj om du vill vara anonym"),
        ("children[0].personal_number", "kontrollsiffran"),
        ("categories", "Välj minst ett område"),
        ("acute_danger", "akut fara"),
    ] {
        let marker = format!("id=\"{field}-error\">");
        let at = html
            .find(&marker)
            .unwrap_or_else(|| panic!("{field} error"));
        assert!(html[at..at + 300].contains(message), "{field}: {message}");
    }
    assert!(
        html.contains("value=\"20121212-1213\""),
        "the wrong number is kept"
    );
    assert!(html.contains(CONCERN), "the concern is kept");
    assert!(html.contains("value=\"Björkskolan\""));
    assert!(html
        .contains("id=\"guardians[0].told-yes\" name=\"guardians[0].told\" value=\"yes\" checked"));

    // Anonymous: a receipt with reference, phone and 112, and nothing stored about the sender
    // even though a name was typed before choosing anonymous.
    let anonymous = with(
        complete(&ekby),
        &[
            ("identity", "anonymous"),
            ("reporter.name", "Granne Gransson"),
        ],
    );
    let (status, html) = post_form(&app, "/anmalan", &anonymous).await;
    assert_eq!(status, 200, "{html}");
    let reference = reference_in(&html);
    assert!(reference.starts_with("OA-"), "{reference}");
    assert!(html.contains("010-000 00 00") && html.contains("tel:0100000000"));
    assert!(html.contains("Ring 112"));
    assert_eq!(count_reporters(&app).await, 0);

    // Named: must be reachable; then stored.
    let named = with(
        complete(&ekby),
        &[("identity", "named"), ("reporter.name", "Granne Gransson")],
    );
    let (status, html) = post_form(&app, "/anmalan", &named).await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"reporter.phone-error\""));
    assert!(html.contains("value=\"Granne Gransson\""));
    let named = with(named, &[("reporter.phone", "070-111 22 33")]);
    let (status, _) = post_form(&app, "/anmalan", &named).await;
    assert_eq!(status, 200);
    assert_eq!(count_reporters(&app).await, 1);
    let kinds: Vec<String> = app
        .conn(|c| {
            reports::table
                .order(reports::received_at)
                .select(reports::reporter_kind)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(kinds, ["anonymous", "private"]);
}

async fn professional_form_names_the_reporter_and_survives_an_expired_session(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let page = "/anmalan/yrkesverksam";

    let response = app.client.get(app.url(page)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303, "log in first");

    let officer = app.fresh_browser();
    officer.login(&intake).await;
    let response = officer.client.get(app.url(page)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403, "only reporters file");

    app.login(&teacher).await;
    let html = app.page(page).await;
    assert!(
        html.contains(&teacher.email),
        "reporter details from the account"
    );
    assert!(
        !html.contains("name=\"reporter.name\""),
        "cannot be removed or changed"
    );

    // A professional cannot pose as someone else or as anonymous.
    let fields = with(
        complete(&ekby),
        &[("identity", "anonymous"), ("reporter.name", "Någon Annan")],
    );
    let (status, html) = post_form(&app, page, &fields).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Mina anmälningar"));
    // Stored sealed (docs/security.md), opened with the instance's keys.
    let keys = app.state.settings.keys.clone();
    let names: Vec<(String, String)> = app
        .conn(move |c| {
            report_reporters::table
                .select((report_reporters::name, report_reporters::email))
                .load::<(String, String)>(c)
                .unwrap()
                .into_iter()
                .map(|(name, email)| {
                    assert!(name.starts_with("enc1:") && email.starts_with("enc1:"));
                    (
                        keys.open("report_reporters.name", &name).unwrap(),
                        keys.open("report_reporters.email", &email).unwrap(),
                    )
                })
                .collect()
        })
        .await;
    assert_eq!(names.len(), 1);
    assert!(names[0].0.starts_with("Test Person "));
    assert_eq!(names[0].1, teacher.email);

    // The session runs out while the teacher writes the next report.
    let token = app.csrf(page).await;
    app.conn(|c| {
        diesel::update(sessions::table)
            .set(sessions::last_seen_at.eq(samordna::db::now() - chrono::Duration::hours(3)))
            .execute(c)
            .unwrap()
    })
    .await;
    let send = |extra: &[(&str, &str)]| {
        let mut form: Vec<(&str, String)> = vec![("csrf_token", token.clone())];
        form.extend(complete(&ekby));
        form.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let request = app.client.post(app.url(page)).form(&form);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, html) = send(&[]).await;
    assert_eq!(status, 401);
    assert!(html.contains("Det du har skrivit"));
    assert!(html.contains(CONCERN) && html.contains(&format!("value=\"{CHILD_NAME}\"")));
    assert!(html.contains("name=\"login_password\""));

    let (status, html) = send(&[
        ("login_email", teacher.email.as_str()),
        ("login_password", "fel lösenord"),
    ])
    .await;
    assert_eq!(status, 401);
    assert!(html.contains("stämmer inte") && html.contains(CONCERN));

    let (status, html) = send(&[
        ("login_email", teacher.email.as_str()),
        ("login_password", teacher.password.as_str()),
    ])
    .await;
    assert_eq!(status, 200, "{html}");
    let reference = reference_in(&html);
    let mine = app.page("/mina-anmalningar").await;
    assert!(mine.contains(&reference), "logged in again, and filed");
}

async fn intake_works_the_queue_and_the_reporter_learns_the_outcome(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let other_teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    app.smtp.wait_for(5, Duration::from_secs(10)).await; // welcome mails

    // Two reports about the same child: an older one (overdue), and a new one about violence.
    app.login(&teacher).await;
    let page = "/anmalan/yrkesverksam";
    let (_, html) = post_form(&app, page, &complete(&ekby)).await;
    let older = reference_in(&html);
    let mut violence = complete(&ekby);
    violence.retain(|(k, _)| *k != "categories");
    violence.push(("categories", "violence_in_home".into()));
    let (_, html) = post_form(&app, page, &violence).await;
    let newer = reference_in(&html);
    let past = samordna::db::now() - chrono::Duration::days(20);
    let older_ref = older.clone();
    app.conn(move |c| {
        let id: String = reports::table
            .filter(reports::reference.eq(older_ref))
            .select(reports::id)
            .first(c)
            .unwrap();
        diesel::update(reports::table.find(&id))
            .set((
                reports::received_at.eq(past),
                reports::safety_due_at.eq(past),
                reports::decision_due_on.eq(past.date() + chrono::Days::new(14)),
            ))
            .execute(c)
            .unwrap();
        // Its place in the queue moves with its clock, as filing would have set it.
        diesel::update(intake_queue::table.find(&id))
            .set((
                intake_queue::received_at.eq(past),
                intake_queue::due_at.eq(past),
            ))
            .execute(c)
            .unwrap()
    })
    .await;

    // The queue: the acute report (violence by someone close) first, marked in words; then the
    // overdue one, marked.
    let officer = app.fresh_browser();
    officer.login(&intake).await;
    let queue = officer.page("/mottagning").await;
    let (at_older, at_newer) = (queue.find(&older).unwrap(), queue.find(&newer).unwrap());
    assert!(
        at_newer < at_older,
        "the acute report comes first, before even an overdue one"
    );
    assert!(queue[at_newer..at_older].contains("AKUT: våld från närstående"));
    assert!(queue[at_older..].contains("Försenad"));
    assert!(!queue[at_older..].contains("AKUT"));
    assert!(queue.contains("1 försenade"));
    assert!(!queue.contains(CHILD_NAME), "the queue shows no names");

    // The new report in full, with the earlier one beside it.
    let id = {
        let marker = format!("\">{newer}</a>");
        let end = queue.find(&marker).unwrap();
        let start = queue[..end].rfind("/anmalningar/").unwrap() + "/anmalningar/".len();
        queue[start..end].to_string()
    };
    let report_page = format!("/anmalningar/{id}");
    let html = officer.page(&report_page).await;
    assert!(html.contains(CHILD_NAME) && html.contains(CHILD_PN) && html.contains(CONCERN));
    assert!(html.contains(&teacher.email), "the named reporter");
    let earlier = html.find("Tidigare anmälningar").unwrap();
    assert!(
        html[earlier..].contains(&older),
        "the earlier report is shown"
    );
    assert!(html.contains("Dokumentera skyddsbedömningen först"));

    // Safety assessment: a missing answer is explained and the notes kept.
    let safety = format!("{report_page}/skyddsbedomning");
    let response = officer
        .submit(&report_page, &safety, &[("notes", "Talat med skolan.")])
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"protection_needed-error\"") && html.contains("Talat med skolan."));
    let response = officer
        .submit(
            &report_page,
            &safety,
            &[("protection_needed", "no"), ("notes", "Talat med skolan.")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("{report_page}?sparat=skydd#beslut"));

    // The decision, per child: violence by someone close offers only "open" (or "join", when an
    // investigation is under way), and asks about siblings.
    let html = officer.page(&location).await;
    assert!(html.contains("Skyddsbedömningen är sparad") && html.contains("Talat med skolan."));
    assert!(html.contains("value=\"open\"") && !html.contains("value=\"not_open\""));
    let child_id = hidden_value(&html, "children[0].child_id");
    let decision = format!("{report_page}/beslut");
    let response = officer
        .submit(
            &report_page,
            &decision,
            &[
                ("children[0].child_id", &child_id),
                ("children[0].decision", "open"),
                ("children[0].reason", "Uppgifter om våld."),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"children[0].siblings_note-error\"")
            && html.contains("Uppgifter om våld.")
    );
    let response = officer
        .submit(
            &report_page,
            &decision,
            &[
                ("children[0].child_id", &child_id),
                ("children[0].decision", "open"),
                ("children[0].reason", "Uppgifter om våld."),
                ("children[0].siblings_note", "Inga syskon."),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let queue = officer.page("/mottagning").await;
    assert!(!queue.contains(&newer), "decided reports leave the queue");

    // The teacher is told there is news, without content, and reads the outcome only.
    let mail = app.smtp.wait_for(6, Duration::from_secs(10)).await;
    let feedback = mail
        .iter()
        .find(|m| {
            m.to.iter().any(|t| t.contains(&teacher.email))
                && String::from_utf8_lossy(&m.data).contains(&newer)
        })
        .expect("feedback mail");
    let text = String::from_utf8_lossy(&feedback.data);
    for secret in [CHILD_NAME, CHILD_PN, "Björkskolan", "våld"] {
        assert!(!text.contains(secret), "{secret} in mail");
    }
    let response = app.client.get(app.url(&report_page)).send().await.unwrap();
    assert_eq!(
        response.status().as_u16(),
        303,
        "the filer is sent to the outcome"
    );
    let mine = app.page("/mina-anmalningar").await;
    assert!(mine.contains("Utredning inleds") && !mine.contains("Uppgifter om våld"));

    // No one else sees it; each refusal is audited.
    let denied_before = denied(&app).await;
    for login in [&elsewhere, &other_teacher] {
        let browser = app.fresh_browser();
        browser.login(login).await;
        let response = browser
            .client
            .get(app.url(&report_page))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);
        assert!(!response.text().await.unwrap().contains(CHILD_NAME));
    }
    let response = officer
        .client
        .get(app.url("/anmalningar/gissat-id"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(denied(&app).await, denied_before + 3);

    // The caseworker sees the investigation's clock and extends it with a reason.
    let cw = app.fresh_browser();
    cw.login(&caseworker).await;
    let list = cw.page("/utredningar").await;
    assert!(list.contains(&newer));
    let html = cw.page(&report_page).await;
    let form_start = html.find("/forlangning\"").expect("extension form");
    let action = {
        let start = html[..form_start].rfind("\"/utredningar/").unwrap() + 1;
        html[start..form_start + "/forlangning".len()].to_string()
    };
    let response = cw
        .submit(&report_page, &action, &[("due_on", "2020-01-01")])
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    let investigation = action
        .trim_start_matches("/utredningar/")
        .trim_end_matches("/forlangning");
    assert!(
        html.contains(&format!("id=\"due_on-{investigation}-error\""))
            && html.contains(&format!("id=\"reason-{investigation}-error\""))
    );
    assert!(html.contains("value=\"2020-01-01\""));
    let later = (samordna::db::now().date() + chrono::Months::new(6)).to_string();
    let response = officer
        .submit(
            &report_page,
            &action,
            &[("due_on", &later), ("reason", "x")],
        )
        .await;
    assert_eq!(
        response.status().as_u16(),
        404,
        "intake officers do not extend"
    );
    let response = cw
        .submit(
            &report_page,
            &action,
            &[
                ("due_on", &later),
                ("reason", "Väntar på utlåtande från BUP."),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let html = cw
        .page(response.headers()["location"].to_str().unwrap())
        .await;
    assert!(
        html.contains("Förlängningen är sparad") && html.contains("Väntar på utlåtande från BUP.")
    );
    assert!(html.contains(&later));

    // From the investigation, the caseworker starts a SIP for the child in one step.
    assert!(html.contains(&format!("Starta en SIP för {CHILD_NAME}")));
    let response = cw
        .submit(
            &report_page,
            "/sip",
            &[
                ("child_name", CHILD_NAME),
                ("child_personal_number", CHILD_PN),
                ("report_id", &id),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let sip = cw
        .page(response.headers()["location"].to_str().unwrap())
        .await;
    assert!(sip.contains(CHILD_NAME) && sip.contains("SIP-"));
    let linked: Vec<Option<String>> = app
        .conn(|c| {
            samordna::db::schema::sips::table
                .select(samordna::db::schema::sips::report_id)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(linked, [Some(id.clone())]);
}

async fn denied(app: &TestApp) -> i64 {
    app.conn(|c| {
        audit_log::table
            .filter(audit_log::outcome.eq("denied"))
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

on_both_databases!(
    public_form_keeps_what_was_typed_and_files_anonymously_or_named,
    professional_form_names_the_reporter_and_survives_an_expired_session,
    intake_works_the_queue_and_the_reporter_learns_the_outcome,
);

/// Past the per-address limit, the public form answers 429 and keeps everything typed.
async fn the_public_form_is_rate_limited(kind: Db) {
    let app = TestApp::spawn_with(kind, &[("SAMORDNA_PUBLIC_REPORTS_PER_HOUR", "1")], true).await;
    app.add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let ekby = app.municipality_id("Ekby").await;
    let fields = with(complete(&ekby), &[("identity", "anonymous")]);
    let (status, _) = post_form(&app, "/anmalan", &fields).await;
    assert_eq!(status, 200);
    let (status, html) = post_form(&app, "/anmalan", &fields).await;
    assert_eq!(status, 429);
    assert!(html.contains("vänta en stund") && html.contains(CONCERN));

    // Behind the service's reverse proxy, each client the proxy names has its own allowance.
    let app = TestApp::spawn_with(
        kind,
        &[
            ("SAMORDNA_PUBLIC_REPORTS_PER_HOUR", "1"),
            ("SAMORDNA_TRUSTED_PROXIES", "127.0.0.0/8"),
        ],
        true,
    )
    .await;
    app.add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let fields = with(
        complete(&app.municipality_id("Ekby").await),
        &[("identity", "anonymous")],
    );
    let first = app.through_proxy("198.51.100.1");
    assert_eq!(post_form(&first, "/anmalan", &fields).await.0, 200);
    assert_eq!(post_form(&first, "/anmalan", &fields).await.0, 429);
    let second = app.through_proxy("198.51.100.2");
    assert_eq!(post_form(&second, "/anmalan", &fields).await.0, 200);
}

crate::on_both_kinds!(the_public_form_is_rate_limited);

/// The value of a hidden input on a page.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} on the page"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}
