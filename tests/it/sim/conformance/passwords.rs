//! add_password / removePassword

use super::*;

#[tokio::test]
async fn add_password_returns_the_secret_once_and_remove_password_deletes_it() {
    let (running, client) = start().await;
    let app = create_app(&client, "secrets").await;
    let id = s(&app, "/id");
    let app_id = s(&app, "/appId");

    let response = ok(
        &client,
        Request::post(
            format!("applications/{id}/addPassword"),
            json!({"passwordCredential": {"displayName": "Password friendly name"}}),
        ),
    )
    .await;
    assert_eq!(response.status, 200);
    let credential = body(&response);
    let secret = s(&credential, "/secretText").to_string();
    assert!(
        (16..=64).contains(&secret.chars().count()),
        "secretText length"
    );
    assert_eq!(s(&credential, "/hint"), &secret[..3]);
    assert!(is_guid(s(&credential, "/keyId")));
    assert_eq!(s(&credential, "/displayName"), "Password friendly name");
    assert_eq!(credential["customKeyIdentifier"], Value::Null);
    let start = parse_time(s(&credential, "/startDateTime"));
    let end = parse_time(s(&credential, "/endDateTime"));
    let now = time::OffsetDateTime::now_utc();
    assert!((now - start).whole_seconds().abs() < 120, "start is now");
    let days = (end - start).whole_days();
    assert!((730..=731).contains(&days), "about two years: {days} days");
    assert!(running.sim.issued_secrets().contains(&secret));

    // The body is optional, and the appId key form works too.
    let bare = ok(
        &client,
        Request::new(Method::POST, format!("applications/{id}/addPassword")),
    )
    .await;
    assert_eq!(bare.status, 200);
    assert!(body(&bare)["secretText"].is_string());
    let by_app_id = ok(
        &client,
        Request::post(
            format!("applications(appId='{app_id}')/addPassword"),
            json!({"passwordCredential": {"displayName": "by appId"}}),
        ),
    )
    .await;
    assert_eq!(by_app_id.status, 200);

    // Later reads never show secretText.
    let read = get_app(&client, id).await;
    let credentials = read["passwordCredentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 3);
    for c in credentials {
        assert_eq!(c["secretText"], Value::Null, "{c}");
        assert_eq!(s(c, "/hint").len(), 3);
    }
    let first = credentials
        .iter()
        .find(|c| c["keyId"] == credential["keyId"])
        .unwrap();
    assert_eq!(s(first, "/hint"), &secret[..3]);
    assert!(!read.to_string().contains(&secret));

    // {id} is the object id, not the appId.
    let e = fail(
        &client,
        Request::post(format!("applications/{app_id}/addPassword"), json!({})),
    )
    .await;
    assert_eq!(e.status, 404);

    let removed = ok(
        &client,
        Request::post(
            format!("applications/{id}/removePassword"),
            json!({"keyId": credential["keyId"]}),
        ),
    )
    .await;
    assert_eq!(removed.status, 204);
    let read = get_app(&client, id).await;
    let remaining = read["passwordCredentials"].as_array().unwrap();
    assert_eq!(remaining.len(), 2);
    assert!(remaining.iter().all(|c| c["keyId"] != credential["keyId"]));
}

#[tokio::test]
async fn add_password_default_end_is_start_plus_two_years() {
    let (_running, client) = start().await;
    let app = create_app(&client, "two-years").await;
    let credential = body(
        &ok(
            &client,
            Request::post(
                format!("applications/{}/addPassword", s(&app, "/id")),
                json!({}),
            ),
        )
        .await,
    );
    // calls.json add_password: "endDateTime defaults to startDateTime + 2 years"; its
    // example runs 2019-09-09T19:50:29 -> 2021-09-09T19:50:29 (731 days, across 2020-02-29).
    let start = parse_time(s(&credential, "/startDateTime"));
    let end = parse_time(s(&credential, "/endDateTime"));
    let expected = start.replace_year(start.year() + 2).unwrap_or_else(|_| {
        start
            .replace_day(28)
            .unwrap()
            .replace_year(start.year() + 2)
            .unwrap()
    });
    assert_eq!(end, expected);
}
