//! The dashboard at five million actions: the Autonomy page's server render and each
//! data call the page makes, against `aol serve` (the daemon out of the way),
//! over loopback HTTP.

use std::time::Instant;

use crate::common::Backend;
use crate::report::{Results, Target};

/// `url` must hold the seeded tables; `rows` is how many of each.
pub async fn run(backend: Backend, url: &str, rows: i64, trials: usize, results: &mut Results) {
    let server = crate::support::Server::start(url, crate::TOKEN).await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    // Signed in as a person's browser is (the operator token's sign-in): each
    // call then also finds its session, as it does for the people using it.
    let login = client
        .post(format!("{base}/ui/login"))
        .header("origin", &base)
        .form(&[("name", ""), ("secret", crate::TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "sign-in: {}", login.status());
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    // The page reads everything in one call (flags, lease, counts, ticks,
    // flag changes, the chart's hour, a page of actions); filters change the page.
    let calls: [(&str, &str, &str); 5] = [
        ("GET /  (server render)", "/", ""),
        ("data, first page", "/ui/dashboard", ""),
        ("data, status=DLQ", "/ui/dashboard", "filter[status]=DLQ"),
        ("data, page 1000", "/ui/dashboard", "filter[before_id]=500000"),
        ("action page data", "/ui/action", "id=500000"),
    ];
    for (name, path, body) in calls {
        let mut samples = Vec::with_capacity(trials);
        for _ in 0..trials {
            let started = Instant::now();
            let response = if path == "/" {
                client.get(format!("{base}/")).header("cookie", &cookie).send().await.unwrap()
            } else {
                client
                    .post(format!("{base}{path}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("cookie", &cookie)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
            };
            assert!(response.status().is_success(), "{name}: {}", response.status());
            response.bytes().await.unwrap();
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        results.add(
            crate::db_name(backend),
            &format!("dashboard: {name}"),
            Some(rows),
            &samples,
            "ms",
            Target::P95Below(30.0),
        );
    }
    drop(server);
}
