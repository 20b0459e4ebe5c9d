//! Where a REAL post may go (the rest of tests/real_channels.rs, in the same
//! test binary): a redirect is not followed, and a certificate that does
//! not verify stops the post.

use std::time::Duration;

use super::{enqueue, reread, run, setup};
use crate::common::TestCtx;
use crate::fake_platform::Answer;
use crate::on_both_databases;

async fn a_redirect_is_not_followed(ctx: TestCtx) {
    let s = setup(&ctx, "webhook", "/hook").await;
    let elsewhere = format!("{}/elsewhere", s.platform.base);
    s.platform.script([Answer::Raw(307, vec![("Location".into(), elsewhere)], String::new())]);
    let action = enqueue(&s.engine, "redirected", "Stay put").await;
    run(&s.engine, 1).await;
    let failed = reread(&s.engine, action.id).await;
    assert_eq!(failed.status, "FAILED", "{failed:?}");
    assert!(failed.last_error.as_deref().unwrap().contains("HTTP 307"), "{failed:?}");
    let received = s.platform.received();
    assert_eq!(received.len(), 1, "the redirect was not followed");
    assert_eq!(received[0].path, "/hook");
}

/// A server with a certificate nobody vouches for (`openssl s_server`).
struct UntrustedTls(std::process::Child);

impl Drop for UntrustedTls {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn a_certificate_that_does_not_verify_stops_the_post(ctx: TestCtx) {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = UntrustedTls(
        std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &port.to_string(), "-key"])
            .arg(&key)
            .arg("-cert")
            .arg(&cert)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = setup(&ctx, "webhook", "").await;
    ctx.execute_raw(&format!("UPDATE aol_channels SET base_url = 'https://localhost:{port}/hook'")).await;
    let action = enqueue(&s.engine, "untrusted", "Not to a stranger").await;
    run(&s.engine, 1).await;
    let refused = reread(&s.engine, action.id).await;
    assert_eq!(refused.status, "RETRY", "{refused:?}");
    let error = refused.last_error.unwrap();
    assert!(error.contains("cannot reach the server") && error.to_lowercase().contains("certificate"), "{error}");
}

on_both_databases!(a_certificate_that_does_not_verify_stops_the_post, a_redirect_is_not_followed);
