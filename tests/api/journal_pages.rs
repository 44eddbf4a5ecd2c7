//! The journal's pages (issue 19 §1 and §3), on both databases: a caseworker writes, signs and
//! corrects through the forms of the chronology page (mistakes come back with the input kept and
//! Swedish errors beside the fields); an intake officer does the same on the page of a child of a
//! report before the decision, linked from the report page; once the investigation is closed,
//! everything that would change it is refused (409, in Swedish) but the journal takes
//! efteranteckningar, marked so in the API and on the page; the report page shows the closing.

use serde_json::{json, Value};

use crate::helpers::{location, TestApp};
use crate::journal::{case, entry, Case};
use crate::on_both_databases;

const FIRST: &str = "Samtal med Kim i skolan om hur veckan har varit.";
const CORRECTION: &str = "Rättelse: samtalet hölls hemma, inte i skolan.";

/// The entry ids on a page, in the order they appear (`id="anteckning-…"`).
fn entry_ids(html: &str) -> Vec<String> {
    html.match_indices("id=\"anteckning-")
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// Writes, signs and corrects through the chronology page of an investigation.
async fn the_chronology_page_writes_signs_and_corrects(app: TestApp) {
    let c: Case = case(&app, true).await;
    let inv = c.investigation.clone().unwrap();
    let page = format!("/utredningar/{inv}/journal");
    app.login(&c.caseworker_login).await;
    let html = app.page(&page).await;
    assert!(html.contains("Skriv en anteckning"), "the form is there");
    assert!(html.contains(&format!("action=\"{page}\"")));

    // Mistakes: 422, each error beside its field in Swedish, the input kept; nothing stored.
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("kind", "fika"),
                ("happened_at", "igår eftermiddag"),
                ("participants", "Kim och mentorn"),
                ("text", "  "),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"kind-error\">Välj vad som hände"),
        "{html}"
    );
    assert!(html.contains("id=\"happened_at-error\">Skriv datum och tid"));
    assert!(html.contains("id=\"text-error\">Skriv vad som hände."));
    assert!(
        html.contains("value=\"igår eftermiddag\"") && html.contains("value=\"Kim och mentorn\"")
    );
    let (_, journal) = app
        .as_user(&c.caseworker)
        .get(&format!("/api/v1/investigations/{inv}/journal"))
        .await;
    assert_eq!(journal["entries"].as_array().unwrap().len(), 0);

    // Written: a draft, confirmed, with a button to sign it.
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("kind", "samtal_barn"),
                ("happened_at", "2026-11-30 10:15"),
                ("participants", "Kim"),
                ("text", FIRST),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert!(
        to.starts_with(&format!("{page}?sparat=anteckning#anteckning-")),
        "{to}"
    );
    let html = app.page(&to).await;
    assert!(html.contains("Anteckningen är sparad som utkast"));
    assert!(html.contains(FIRST) && html.contains("Utkast, inte signerad."));
    let id = entry_ids(&html)[0].clone();
    assert!(html.contains(&format!("action=\"/journal/{id}/signera\"")));
    assert!(
        !html.contains("Skriv en rättelse"),
        "a draft is signed, not corrected"
    );

    // Another reader (intake) sees it, with neither sign button nor form.
    let intake = app.fresh_browser();
    intake.login(&c.intake_login).await;
    let html = intake.page(&page).await;
    assert!(html.contains(FIRST));
    assert!(!html.contains("/signera") && !html.contains("Skriv en anteckning"));
    let response = intake
        .submit(&page, &format!("/journal/{id}/signera"), &[])
        .await;
    assert_eq!(response.status(), 403, "only the author signs");

    // Signed by its author; signing again is refused in Swedish.
    let response = app
        .submit(&page, &format!("/journal/{id}/signera"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("sparat=signerad"));
    let html = app.page(&page).await;
    assert!(html.contains("Signerad ") && !html.contains("Utkast, inte signerad."));
    let response = app
        .submit(&page, &format!("/journal/{id}/signera"), &[])
        .await;
    assert_eq!(response.status(), 409);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("redan signerad och kan inte ändras"));

    // A correction: the form names the original and keeps input on mistakes.
    let correcting = format!("{page}?ratta={id}");
    let html = app.page(&correcting).await;
    assert!(
        html.contains("Rätta anteckningen från 2026-11-30 10:15"),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"/journal/{id}/rattelse\"")));
    let response = app
        .submit(
            &correcting,
            &format!("/journal/{id}/rattelse"),
            &[
                ("kind", "samtal_barn"),
                ("happened_at", "2026-11-30 10:15"),
                ("participants", ""),
                ("text", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Rätta anteckningen från") && html.contains("id=\"text-error\""));
    let response = app
        .submit(
            &correcting,
            &format!("/journal/{id}/rattelse"),
            &[
                ("kind", "samtal_barn"),
                ("happened_at", "2026-11-30 10:15"),
                ("participants", "Kim, mamma"),
                ("text", CORRECTION),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("sparat=rattelse"));
    let html = app.page(&page).await;
    // Beside the original, inside its article; the original as it was signed.
    let original_at = html.find(FIRST).unwrap();
    let correction_at = html.find(CORRECTION).unwrap();
    assert!(correction_at > original_at);
    assert!(!html[original_at..correction_at].contains("</article>"));
    let ids = entry_ids(&html);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], id);
    assert!(html.contains("Signera rättelsen"));
    let (_, journal) = app
        .as_user(&c.caseworker)
        .get(&format!("/api/v1/investigations/{inv}/journal"))
        .await;
    let original = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(original["text"], FIRST);
    assert_eq!(original["corrected_by"][0], ids[1].as_str());
}

/// Before the decision, an intake officer keeps the child's journal on its own page, linked from
/// the report page; a caseworker reads it but does not write; once decided it takes no more.
async fn the_report_child_page_before_the_decision(app: TestApp) {
    let c = case(&app, false).await;
    let page = format!("/anmalningar/{}/barn/{}/journal", c.report, c.child);
    app.login(&c.intake_login).await;
    let html = app.page(&format!("/anmalningar/{}", c.report)).await;
    assert!(
        html.contains(&format!("href=\"{page}\"")),
        "linked from the report"
    );
    let html = app.page(&page).await;
    assert!(html.contains("Förhandsbedömning om barn 1") && html.contains("Skriv en anteckning"));
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("kind", "telefonsamtal"),
                ("happened_at", "2026-11-29 09:00"),
                ("text", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<option value=\"telefonsamtal\" selected>"),
        "kept"
    );
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("kind", "telefonsamtal"),
                ("happened_at", "2026-11-29 09:00"),
                ("participants", "Mentor"),
                ("text", "Ringde mentorn om frånvaron."),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let html = app.page(&page).await;
    let id = entry_ids(&html)[0].clone();
    let response = app
        .submit(&page, &format!("/journal/{id}/signera"), &[])
        .await;
    assert_eq!(
        location(&response),
        format!("{page}?sparat=signerad#anteckning-{id}")
    );
    // The caseworker reads; writing is not theirs before the decision (403).
    let caseworker = app.fresh_browser();
    caseworker.login(&c.caseworker_login).await;
    let html = caseworker.page(&page).await;
    assert!(html.contains("Ringde mentorn") && !html.contains("Skriv en anteckning"));
    let response = caseworker
        .submit(
            &page,
            &page,
            &[
                ("kind", "annat"),
                ("happened_at", "2026-11-29 09:00"),
                ("text", "x"),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
    // Decided: the page stays readable, without the form; a post is refused (409).
    let (status, body) = app
        .as_user(&c.intake)
        .post(
            &format!("/api/v1/reports/{}/decision", c.report),
            json!({"children": [{"child_id": c.child, "decision": "not_open",
                                 "reason": "Inget behov.", "siblings_note": ""}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let html = app.page(&page).await;
    assert!(html.contains("Ringde mentorn") && !html.contains("Skriv en anteckning"));
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("kind", "annat"),
                ("happened_at", "2026-11-29 09:00"),
                ("text", "x"),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Förhandsbedömningen är avslutad"));
}

async fn close(app: &TestApp, c: &Case, inv: &str) -> Value {
    let today = samordna::time::local(samordna::db::now()).date();
    let (status, body) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/investigations/{inv}/close"),
            json!({"outcome": "support_granted", "support": "Kontaktfamilj",
                   "closed_on": today.to_string(), "reason": "Behovet är utrett."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Closed: every route that would change the investigation answers 409 in Swedish; the journal
/// takes efteranteckningar, marked in the API and on the page; the report page shows the closing.
async fn a_closed_investigation_is_read_only_but_takes_efteranteckningar(app: TestApp) {
    let c = case(&app, true).await;
    let inv = c.investigation.clone().unwrap();
    let journal = format!("/api/v1/investigations/{inv}/journal");
    let (status, before) = app
        .as_user(&c.caseworker)
        .post(&journal, entry("analys", "Analys före avslutet."))
        .await;
    assert_eq!(status, 201);
    assert_eq!(before["after_closing"], false);
    let before_id = before["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .as_user(&c.caseworker)
        .post(&format!("/api/v1/journal/{before_id}/sign"), json!({}))
        .await;
    assert_eq!(status, 200);
    close(&app, &c, &inv).await;

    // The API: nothing about the investigation changes.
    let teacher = app
        .add_user_in("Ekby", "skola", &[samordna::accounts::Role::Reporter])
        .await;
    let school = app.organisation_of(&teacher.user_id).await;
    for (path, body) in [
        (
            format!("/api/v1/investigations/{inv}/extension"),
            json!({"due_on": "2027-12-31", "reason": "Mer tid."}),
        ),
        (
            format!("/api/v1/investigations/{inv}/close"),
            json!({"outcome": "no_support", "closed_on": "2026-12-01", "reason": "Igen."}),
        ),
        (
            format!("/api/v1/investigations/{inv}/information-requests"),
            json!({"organisation_id": school, "recipients": [teacher.user_id],
                   "questions": "Hur är närvaron?"}),
        ),
    ] {
        let (status, answer) = app.as_user(&c.caseworker).post(&path, body).await;
        assert_eq!(status, 409, "{path}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains("avslutad"),
            "{answer}"
        );
    }
    // The pages: the same refusals.
    app.login(&c.caseworker_login).await;
    let report_page = format!("/anmalningar/{}", c.report);
    for (action, fields) in [
        (
            format!("/utredningar/{inv}/forlangning"),
            vec![("due_on", "2027-12-31"), ("reason", "Mer tid.")],
        ),
        (
            format!("/utredningar/{inv}/avsluta"),
            vec![
                ("outcome", "no_support"),
                ("closed_on", "2026-12-01"),
                ("reason", "Igen."),
            ],
        ),
    ] {
        let response = app.submit(&report_page, &action, &fields).await;
        assert_eq!(response.status(), 409, "{action}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Utredningen är avslutad"));
    }

    // The journal: an efteranteckning through the API and through the page.
    let (status, after) = app
        .as_user(&c.caseworker)
        .post(
            &journal,
            entry("telefonsamtal", "Mamma ringde efter avslutet."),
        )
        .await;
    assert_eq!(status, 201, "{after}");
    assert_eq!(after["after_closing"], true);
    let page = format!("/utredningar/{inv}/journal");
    let html = app.page(&page).await;
    assert!(html.contains("Utredningen är avslutad") && html.contains("Skriv en efteranteckning"));
    // Written just now, in Swedish local time (what the form offers): not "in the future".
    let just_now = samordna::time::local(samordna::db::now())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("kind", "brev"),
                ("happened_at", &just_now),
                ("text", "Brev från skolan kom efter avslutet."),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    // A correction of an entry from before closing is an efteranteckning too.
    let (status, correction) = app
        .as_user(&c.caseworker)
        .post(
            &format!("/api/v1/journal/{before_id}/corrections"),
            entry("analys", "Rättelse efter avslutet."),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(correction["after_closing"], true);
    let (_, list) = app.as_user(&c.caseworker).get(&journal).await;
    let marks: Vec<(String, bool)> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["text"].as_str().unwrap().to_string(),
                e["after_closing"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        marks.contains(&("Analys före avslutet.".into(), false)),
        "{marks:?}"
    );
    assert!(marks.contains(&("Mamma ringde efter avslutet.".into(), true)));
    assert!(marks.contains(&("Brev från skolan kom efter avslutet.".into(), true)));
    let html = app.page(&page).await;
    let before_at = html.find("Analys före avslutet.").unwrap();
    let letter_at = html.find("Brev från skolan").unwrap();
    let marked: Vec<usize> = html
        .match_indices("Efteranteckning</")
        .map(|(at, _)| at)
        .collect();
    assert_eq!(marked.len(), 3, "three efteranteckningar marked");
    let article_start = html[..before_at].rfind("<article").unwrap();
    assert!(
        !html[article_start..before_at].contains("Efteranteckning"),
        "the entry from before is not marked"
    );
    assert!(marked
        .iter()
        .any(|&at| at < letter_at && at > html[..letter_at].rfind("<article").unwrap()));
    assert!(
        html.contains("Utredningen avslutad: Insats eller bistånd beviljat"),
        "the closing in the chronology, with its outcome"
    );
    // Printed, the chronology is the record only: the forms and links are left out.
    let css = app.page("/static/style.css").await;
    let print = &css[css.find("Printed for the case file").expect("print rules")..];
    assert!(
        print.contains(".journal-form, .no-print { display: none; }"),
        "{print}"
    );

    // The report page shows the closing, links to the journal, and has no forms for it.
    let html = app.page(&report_page).await;
    assert!(
        html.contains("Insats eller bistånd beviljat: Kontaktfamilj"),
        "{html}"
    );
    assert!(html.contains("Behovet är utrett.") && html.contains("<dt>I tid</dt><dd>Ja"));
    assert!(html.contains(&format!("href=\"/utredningar/{inv}/journal\"")));
    assert!(!html.contains(&format!("action=\"/utredningar/{inv}/forlangning\"")));
    assert!(!html.contains(&format!("href=\"/utredningar/{inv}/avsluta\"")));
    // The report's JSON: the investigation's state and closing.
    let (_, full) = app
        .as_user(&c.caseworker)
        .get(&format!("/api/v1/reports/{}", c.report))
        .await;
    let investigation = &full["children"][0]["investigation"];
    assert_eq!(investigation["state"], "closed", "{investigation}");
    assert_eq!(investigation["closing"]["outcome"], "support_granted");
    assert_eq!(investigation["closing"]["late"], false);
}

on_both_databases!(
    the_chronology_page_writes_signs_and_corrects,
    the_report_child_page_before_the_decision,
    a_closed_investigation_is_read_only_but_takes_efteranteckningar,
);
