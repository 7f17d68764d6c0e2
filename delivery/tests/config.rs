//! The configuration as the server's TOML holds it, and its checks.

use seduta_delivery::{DeliveryConfig, SinkKind};

#[test]
fn every_sink_kind_parses_from_toml() {
    let text = r#"
        [retry]
        initial_backoff_secs = 10
        max_backoff_secs = 600
        give_up_after_secs = 3600

        [worker]
        max_concurrent = 2

        [[sinks]]
        name = "archivio"
        kind = "folder"
        path = "/srv/in"

        [[sinks]]
        name = "protocollo"
        kind = "webhook"
        url = "https://protocollo.example/seduta"
        secret_env = "X"

        [[sinks]]
        name = "s3"
        kind = "s3"
        bucket = "sedute"
        endpoint = "http://127.0.0.1:9000"
        allow_http = true
    "#;
    let c: DeliveryConfig = toml::from_str(text).expect("parses");
    assert_eq!(c.sinks.len(), 3);
    assert!(matches!(c.sinks[0].kind, SinkKind::Folder(_)));
    match &c.sinks[1].kind {
        SinkKind::Webhook(w) => {
            assert_eq!(w.secret_env.as_deref(), Some("X"));
            assert_eq!(w.timeout_secs, 600);
        }
        other => panic!("{other:?}"),
    }
    match &c.sinks[2].kind {
        SinkKind::S3(s) => assert_eq!(s.part_size_bytes, 16 * 1024 * 1024),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.retry.give_up_after_secs, 3600);
    assert_eq!(c.worker.max_concurrent, 2);
    assert_eq!(c.worker.lease_secs, 300);
    c.validate().expect("valid");
    // And back: what is written reads the same.
    let again: DeliveryConfig =
        toml::from_str(&toml::to_string(&c).expect("to toml")).expect("reparse");
    assert_eq!(again, c);
}

#[test]
fn bad_settings_are_named() {
    let dup: DeliveryConfig = toml::from_str(
        r#"
        [[sinks]]
        name = "a"
        kind = "folder"
        path = "/x"
        [[sinks]]
        name = "a"
        kind = "folder"
        path = "/y"
    "#,
    )
    .expect("parses");
    let e = dup.validate().expect_err("duplicate");
    assert_eq!(e.code(), "delivery_config");
    assert!(e.to_string().contains("used twice"));

    let bad_retry: DeliveryConfig =
        toml::from_str("[retry]\ninitial_backoff_secs = 100\nmax_backoff_secs = 10")
            .expect("parses");
    assert!(bad_retry.validate().is_err());

    assert!(toml::from_str::<DeliveryConfig>("[[sinks]]\nname = \"a\"\nkind = \"ftp\"").is_err());
    assert!(toml::from_str::<DeliveryConfig>("[retry]\nbogus = 1").is_err());
}

#[tokio::test]
async fn sink_settings_are_checked_when_the_outbox_is_built() {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .expect("pool");
    let build = |text: &str| {
        let c: DeliveryConfig = toml::from_str(text).expect("parses");
        seduta_delivery::Outbox::new(
            pool.clone(),
            &c,
            std::sync::Arc::new(seduta_delivery::SystemClock),
        )
    };
    let short = build(
        "[[sinks]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\nsecret = \"short\"",
    );
    assert!(
        short
            .expect_err("short secret")
            .to_string()
            .contains("16 bytes")
    );
    let both = build("[[sinks]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"");
    assert!(
        both.expect_err("no secret")
            .to_string()
            .contains("exactly one")
    );
    let env = build(
        "[[sinks]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\nsecret_env = \"SEDUTA_UNSET_VARIABLE_FOR_TEST\"",
    );
    assert!(
        env.expect_err("unset env")
            .to_string()
            .contains("SEDUTA_UNSET_VARIABLE_FOR_TEST")
    );
    let ftp = build(
        "[[sinks]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"ftp://x/\"\nsecret = \"0123456789abcdef\"",
    );
    assert!(ftp.is_err());
    let part =
        build("[[sinks]]\nname = \"s\"\nkind = \"s3\"\nbucket = \"b\"\npart_size_bytes = 1000");
    assert!(part.expect_err("part size").to_string().contains("5 MiB"));
}
