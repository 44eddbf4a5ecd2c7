//! Information requests, continued (issue 19 §2), on both databases: a school nurse answers with
//! text and a PDF (multipart), a BVC nurse asks for more time, is granted a new last day and then
//! declines; every refused file (wrong type, too large, empty, a path in its name) is refused
//! with a clear message and stores nothing; the answer and the refusal are filed in the child's
//! journal as signed entries; a file is served as an attachment, `nosniff`, to the receivers and
//! social services only (others 404, audited); every mail is free of the child's name and
//! personnummer; the file is sealed at rest.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::multipart::{Form, Part};
use samordna::accounts::Role;
use samordna::db::schema::{
    information_request_extensions, information_request_files, information_requests,
    journal_entries,
};
use serde_json::{json, Value};

use crate::helpers::{error_fields, status_and_json, TestApp};
use crate::information_requests::{open_investigation, CHILD_NAME, KIM};
use crate::on_both_databases;

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
const ANSWER: &str = "Eleven har varit frånvarande mycket sedan oktober.";

fn pdf_part(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str("application/pdf")
        .unwrap()
}

/// Posts a multipart answer; answers the status and the JSON body.
async fn answer(app: &TestApp, token: &str, id: &str, form: Form) -> (u16, Value) {
    let response = app
        .as_user(token)
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/information-requests/{id}/answer"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

async fn stored_files(app: &TestApp) -> i64 {
    app.conn(|c| {
        information_request_files::table
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

async fn journal_count(app: &TestApp) -> i64 {
    app.conn(|c| journal_entries::table.count().get_result(c).unwrap())
        .await
}

async fn answers_with_files_more_time_and_the_journal(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let nurse = app.add_user_in("Ekby", "bvc", &[Role::Reporter]).await;
    let school_nurse = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let elsewhere = app
        .add_user_in("Annanstad", "socialtjanst", &[Role::Caseworker])
        .await;
    let (teacher_t, intake_t, cw, nurse_t, school_t, elsewhere_t) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&caseworker).await,
        app.token_for(&nurse).await,
        app.token_for(&school_nurse).await,
        app.token_for(&elsewhere).await,
    );
    let bvc = app.organisation_of(&nurse.user_id).await;
    let school = app.organisation_of(&school_nurse.user_id).await;
    let investigation = open_investigation(&app, &teacher_t, &intake_t, &cw).await;
    let path = format!("/api/v1/investigations/{investigation}/information-requests");
    let to_school = app
        .as_user(&cw)
        .post_ok(
            &path,
            json!({"organisation_id": school, "recipients": [school_nurse.user_id],
                   "questions": "Hur är närvaron och hälsan?"}),
        )
        .await;
    let school_id = to_school["id"].as_str().unwrap().to_string();
    let school_ref = to_school["reference"].as_str().unwrap().to_string();
    let to_bvc = app
        .as_user(&cw)
        .post_ok(
            &path,
            json!({"organisation_id": bvc, "recipients": [nurse.user_id],
                   "questions": "Har barnet kommit på sina besök?"}),
        )
        .await;
    let bvc_id = to_bvc["id"].as_str().unwrap().to_string();
    let bvc_ref = to_bvc["reference"].as_str().unwrap().to_string();
    let journal_before = journal_count(&app).await;

    // Every refused file: a clear message under `file`, and nothing stored, not even the text.
    let mut too_large = PDF.to_vec();
    too_large.resize(10 * 1024 * 1024 + 1, b' ');
    let refusals: Vec<(Form, &str)> = vec![
        (
            Form::new().text("text", ANSWER).part(
                "file",
                pdf_part("svar.pdf", b"just text, not a PDF".to_vec()),
            ),
            "inte en PDF",
        ),
        (
            Form::new()
                .text("text", ANSWER)
                .part("file", pdf_part("stor.pdf", too_large)),
            "större än 10 MB",
        ),
        (
            Form::new()
                .text("text", ANSWER)
                .part("file", pdf_part("tom.pdf", Vec::new())),
            "är tom",
        ),
        (
            Form::new()
                .text("text", ANSWER)
                .part("file", pdf_part("../../etc/svar.pdf", PDF.to_vec())),
            "får inte innehålla",
        ),
        (
            Form::new()
                .text("text", ANSWER)
                .part("file", pdf_part("mapp\\svar.pdf", PDF.to_vec())),
            "får inte innehålla",
        ),
        // One good file and one bad: neither is kept.
        (
            Form::new()
                .text("text", ANSWER)
                .part("file", pdf_part("bra.pdf", PDF.to_vec()))
                .part("file", pdf_part("ful.pdf", b"MZ\x90\x00".to_vec())),
            "ful.pdf",
        ),
    ];
    for (form, says) in refusals {
        let (status, body) = answer(&app, &school_t, &school_id, form).await;
        assert_eq!(status, 422, "{says}: {body}");
        assert_eq!(error_fields(&body), ["file"], "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        assert_eq!(stored_files(&app).await, 0, "{says}: nothing stored");
        assert_eq!(journal_count(&app).await, journal_before, "{says}");
        let (_, read) = app
            .as_user(&school_t)
            .get(&format!("/api/v1/information-requests/{school_id}"))
            .await;
        assert!(read["answered_at"].is_null(), "{says}: still open");
    }
    // The text is needed too, and is named beside the file problems.
    let (status, body) = answer(
        &app,
        &school_t,
        &school_id,
        Form::new().part("file", pdf_part("svar.pdf", PDF.to_vec())),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["text"]);

    // A request that says it is larger than five files at their largest is refused on its
    // headers, before its body is read (none is sent here).
    let address = app.url("").trim_start_matches("http://").to_string();
    let head = format!(
        "POST /api/v1/information-requests/{school_id}/answer HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {school_t}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 60000000\r\n\r\n"
    );
    let answered_early = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut got = vec![0u8; 4096];
        let n = stream.read(&mut got).unwrap();
        String::from_utf8_lossy(&got[..n]).to_string()
    })
    .await
    .unwrap();
    assert!(
        answered_early.starts_with("HTTP/1.1 422"),
        "{answered_early}"
    );
    assert!(answered_early.contains("för stort"), "{answered_early}");

    // Not addressed to them: 404 for the answer, as for everything else.
    let form = || {
        Form::new()
            .text("text", ANSWER)
            .part("file", pdf_part("svar.pdf", PDF.to_vec()))
    };
    for token in [&nurse_t, &cw, &teacher_t, &elsewhere_t] {
        let (status, _) = answer(&app, token, &school_id, form()).await;
        assert_eq!(status, 404);
    }

    // The school nurse answers with text and a PDF.
    let (status, answered) = answer(
        &app,
        &school_t,
        &school_id,
        form().part("file", pdf_part("Närvaro ht 2026.pdf", PDF.to_vec())),
    )
    .await;
    assert_eq!(status, 201, "{answered}");
    assert_eq!(answered["status"], "answered");
    let files = answered["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["name"], "Närvaro ht 2026.pdf");
    assert_eq!(files[0]["content_type"], "application/pdf");
    let file_id = files[0]["id"].as_str().unwrap().to_string();
    let (status, _) = answer(&app, &school_t, &school_id, form()).await;
    assert_eq!(status, 409, "once");

    // The file: to the receiver and social services of the municipality, as an attachment.
    let file_path = format!("/api/v1/information-requests/{school_id}/files/{file_id}");
    for token in [&school_t, &cw, &intake_t] {
        let response = app
            .as_user(token)
            .request(reqwest::Method::GET, &file_path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"svar.pdf\""),
            "{disposition}"
        );
        assert_eq!(&response.bytes().await.unwrap()[..], PDF);
    }
    // Another organisation's user, a reporter, another municipality's caseworker: 404, audited.
    let denied_before = app
        .audit_entries("information_request")
        .await
        .iter()
        .filter(|(a, o, _)| a == "information_request.access" || o == "denied")
        .count();
    for token in [&nurse_t, &teacher_t, &elsewhere_t] {
        let (status, _) = app.as_user(token).get(&file_path).await;
        assert_eq!(status, 404);
    }
    let (status, _) = app
        .as_user(&cw)
        .get(&format!(
            "/api/v1/information-requests/{school_id}/files/gissad"
        ))
        .await;
    assert_eq!(status, 404, "no such file");
    let (status, _) = app
        .as_user(&cw)
        .get(&format!(
            "/api/v1/information-requests/{bvc_id}/files/{file_id}"
        ))
        .await;
    assert_eq!(status, 404, "a file of another request");
    let entries = app.audit_entries("information_request").await;
    let denied_after = entries
        .iter()
        .filter(|(a, o, _)| a == "information_request.access" || o == "denied")
        .count();
    assert!(denied_after >= denied_before + 5, "{entries:?}");
    assert!(entries
        .iter()
        .any(|(a, o, d)| a == "information_request.file_read"
            && o == "success"
            && d.contains(&file_id)));

    // The BVC nurse asks for more time; the caseworker sees it and grants a new last day.
    let more = format!("/api/v1/information-requests/{bvc_id}/more-time");
    let (status, body) = app.as_user(&nurse_t).post(&more, json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["reason"]);
    let today = samordna::db::now().date();
    let wished = (today + chrono::Days::new(30)).to_string();
    for token in [&school_t, &cw, &elsewhere_t] {
        let (status, _) = app
            .as_user(token)
            .post(&more, json!({"reason": "Sjuk", "wished_on": wished}))
            .await;
        assert_eq!(status, 404, "only its receivers ask");
    }
    let (status, _) = app
        .as_user(&nurse_t)
        .post(
            &more,
            json!({"reason": "Journalen finns på en annan mottagning.", "wished_on": wished}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, seen) = app
        .as_user(&cw)
        .get(&format!("/api/v1/information-requests/{bvc_id}"))
        .await;
    assert_eq!(
        seen["more_time"][0]["reason"],
        "Journalen finns på en annan mottagning."
    );
    assert_eq!(seen["more_time"][0]["wished_on"], wished.as_str());
    assert!(seen["more_time"][0]["granted_on"].is_null());
    let due = format!("/api/v1/information-requests/{bvc_id}/due-date");
    for token in [&nurse_t, &intake_t, &elsewhere_t] {
        let (status, _) = app
            .as_user(token)
            .post(&due, json!({"due_on": wished}))
            .await;
        assert!(
            status == 404 || status == 403,
            "{status}: not theirs to move"
        );
    }
    let (status, body) = app
        .as_user(&cw)
        .post(&due, json!({"due_on": today.to_string()}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["due_on"]);
    // A reminder already sent is sent again before the new day.
    let id = bvc_id.clone();
    app.conn(move |c| {
        diesel::update(information_requests::table.find(id))
            .set(information_requests::reminded_at.eq(Some(samordna::db::now())))
            .execute(c)
            .unwrap()
    })
    .await;
    let (status, moved) = app.as_user(&cw).post(&due, json!({"due_on": wished})).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["due_on"], wished.as_str());
    let id = bvc_id.clone();
    let (reminded, granted): (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDate>) = app
        .conn(move |c| {
            let reminded = information_requests::table
                .find(&id)
                .select(information_requests::reminded_at)
                .get_result(c)
                .unwrap();
            let granted = information_request_extensions::table
                .filter(information_request_extensions::request_id.eq(&id))
                .select(information_request_extensions::granted_on)
                .get_result(c)
                .unwrap();
            (reminded, granted)
        })
        .await;
    assert!(reminded.is_none(), "the reminder follows the new day");
    assert_eq!(granted.map(|d| d.to_string()), Some(wished.clone()));

    // Then she declines with a reason.
    let (status, _) = app
        .as_user(&nurse_t)
        .post(
            &format!("/api/v1/information-requests/{bvc_id}/decline"),
            json!({"reason": "Barnet är inte inskrivet hos oss."}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app.as_user(&cw).post(&due, json!({"due_on": wished})).await;
    assert_eq!(status, 409, "a replied request keeps its day");

    // Both are in the child's journal, signed, naming the reference and the organisation.
    let (status, journal) = app
        .as_user(&cw)
        .get(&format!("/api/v1/investigations/{investigation}/journal"))
        .await;
    assert_eq!(status, 200, "{journal}");
    let filed: Vec<&Value> = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "uppgifter")
        .collect();
    assert_eq!(filed.len(), 2, "{journal}");
    let answer_entry = filed
        .iter()
        .find(|e| e["text"].as_str().unwrap().contains(&school_ref))
        .expect("the answer in the journal");
    let text = answer_entry["text"].as_str().unwrap();
    assert!(
        text.contains(ANSWER) && text.contains("Närvaro ht 2026.pdf"),
        "{text}"
    );
    assert!(answer_entry["signed_at"].is_string(), "signed");
    let nurse_id = school_nurse.user_id.clone();
    let nurse_name: String = app
        .conn(move |c| {
            samordna::db::schema::users::table
                .find(nurse_id)
                .select(samordna::db::schema::users::name)
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(answer_entry["author_name"], nurse_name.as_str());
    let decline_entry = filed
        .iter()
        .find(|e| e["text"].as_str().unwrap().contains(&bvc_ref))
        .expect("the refusal in the journal");
    assert!(decline_entry["text"]
        .as_str()
        .unwrap()
        .contains("Barnet är inte inskrivet hos oss."));
    assert!(decline_entry["signed_at"].is_string());

    // The chronology page links the files (signed in as the caseworker).
    app.login(&caseworker).await;
    let page = app
        .page(&format!("/utredningar/{investigation}/journal"))
        .await;
    assert!(
        page.contains(&format!("/begaran/{school_id}/filer/{file_id}")),
        "{page}"
    );

    // Sealed at rest: neither the names nor the bytes are stored as sent.
    let stored: Vec<(String, String)> = app
        .conn(|c| {
            information_request_files::table
                .select((
                    information_request_files::name,
                    information_request_files::content,
                ))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(stored.len(), 2);
    for (name, content) in &stored {
        assert!(name.starts_with("enc1:") && content.starts_with("enc1:"));
        assert!(!name.contains("Närvaro") && !content.contains("JVBER"));
    }

    // No mail of the flow names the child.
    let mails = app.smtp.wait_for(1, Duration::from_secs(5)).await;
    for mail in &mails {
        let raw = String::from_utf8_lossy(&mail.data).to_string();
        for secret in [KIM, "121212-1212", CHILD_NAME, "Kim"] {
            assert!(!raw.contains(secret), "{secret} in mail");
        }
    }
}

/// The receiver's pages: the start page leads to `/begaran`; a refused file shows the page again
/// with the text kept and the problem beside the file input, storing nothing; the other forms
/// show their errors beside their own fields; asking for more time is confirmed.
async fn the_receivers_pages_keep_input_and_show_errors(app: TestApp) {
    let teacher = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let intake = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Intake])
        .await;
    let caseworker = app
        .add_user_in("Ekby", "socialtjanst", &[Role::Caseworker])
        .await;
    let school_nurse = app.add_user_in("Ekby", "skola", &[Role::Reporter]).await;
    let (teacher_t, intake_t, cw) = (
        app.token_for(&teacher).await,
        app.token_for(&intake).await,
        app.token_for(&caseworker).await,
    );
    let school = app.organisation_of(&school_nurse.user_id).await;
    let investigation = open_investigation(&app, &teacher_t, &intake_t, &cw).await;
    let sent = app
        .as_user(&cw)
        .post_ok(
            &format!("/api/v1/investigations/{investigation}/information-requests"),
            json!({"organisation_id": school, "recipients": [school_nurse.user_id],
                   "questions": "Hur är närvaron?"}),
        )
        .await;
    let id = sent["id"].as_str().unwrap().to_string();
    let reference = sent["reference"].as_str().unwrap().to_string();
    app.login(&school_nurse).await;
    let home = app.page("/").await;
    assert!(
        home.contains("href=\"/begaran\"") && home.contains("1 väntar på ditt svar"),
        "{home}"
    );
    let inbox = app.page("/begaran").await;
    assert!(inbox.contains(&format!("href=\"/begaran/{id}\"")) && inbox.contains(&reference));
    let page_path = format!("/begaran/{id}");
    let token = app.csrf(&page_path).await;
    let typed = "Eleven är ofta borta på måndagar.";
    let response = app
        .client
        .post(app.url(&format!("{page_path}/svar")))
        .multipart(
            Form::new()
                .text("csrf_token", token)
                .text("text", typed)
                .part("file", pdf_part("svar.pdf", b"<html>nej</html>".to_vec())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(typed), "the text is kept");
    assert!(
        page.contains("id=\"file-error\"") && page.contains("inte en PDF"),
        "{page}"
    );
    assert_eq!(stored_files(&app).await, 0);
    // Without the form's token: refused, nothing stored.
    let response = app
        .client
        .post(app.url(&format!("{page_path}/svar")))
        .multipart(Form::new().text("text", typed))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status().as_u16(), 303);
    let response = app
        .submit(
            &page_path,
            &format!("{page_path}/avboj"),
            &[("decline_reason", " ")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"decline_reason-error\""), "{page}");
    let response = app
        .submit(
            &page_path,
            &format!("{page_path}/mer-tid"),
            &[("more_time_reason", "Jag är på kurs."), ("wished_on", "")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let page = app
        .page(response.headers()["location"].to_str().unwrap())
        .await;
    assert!(page.contains("Din fråga om mer tid är skickad"), "{page}");
    assert!(page.contains("Jag är på kurs."));
    let (_, read) = app
        .as_user(&cw)
        .get(&format!("/api/v1/information-requests/{id}"))
        .await;
    assert!(read["answered_at"].is_null() && read["declined_at"].is_null());
    assert_eq!(read["more_time"][0]["reason"], "Jag är på kurs.");
}

on_both_databases!(
    answers_with_files_more_time_and_the_journal,
    the_receivers_pages_keep_input_and_show_errors
);
