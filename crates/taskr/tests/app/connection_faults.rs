//! A provider's token endpoint failing a refresh, end to end against the sandbox's provider:
//! an outage (5xx, 429) never breaks a connection, a refusal (RFC 6749 error) does.

use std::time::Duration;

use attio_sandbox::provider::ProviderConfig;
use taskr::connections::{ConnectionError, Ctx};
use taskr::store::{ConnectionStatus, Owner};

use crate::connections::{app_with, connected_user, ctx};
use crate::helpers::{TestApp, SEQUENCER};

fn provider(app: &TestApp) -> &attio_sandbox::provider::Provider {
    &app.provider.as_ref().expect("a provider").0
}

/// Makes the stored token expire at `expires_at` and forgets cached copies.
async fn expire_at(app: &TestApp, expires_at: i64) {
    app.execute(&format!("UPDATE connections SET expires_at = {expires_at}"))
        .await;
    app.state.connections.forget_cached();
}

async fn status(app: &TestApp, ctx: &Ctx) -> ConnectionStatus {
    app.state
        .store
        .connection(&SEQUENCER, &Owner::user(ctx.user))
        .await
        .unwrap()
        .expect("a connection")
        .status
}

#[tokio::test]
async fn an_outage_at_refresh_time_keeps_serving_the_token_while_it_lasts() {
    let app = app_with(ProviderConfig::default()).await;
    connected_user(&app, "olga").await;
    let ctx = ctx(&app, "olga").await;
    let original = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    for (code, error) in [
        (503, "temporarily_unavailable"),
        (429, "slow_down"),
        (500, "server_error"),
    ] {
        expire_at(&app, taskr::now() + 60).await;
        provider(&app).set_fail_next_refreshes(1, code, error);
        let before = provider(&app).refresh_requests();
        let served = app.state.connections.user(&ctx, &SEQUENCER).await;
        assert_eq!(provider(&app).refresh_requests(), before + 1, "{code}");
        assert_eq!(
            served.expect("the still-valid token").value,
            original.value,
            "{code}"
        );
        assert_eq!(status(&app, &ctx).await, ConnectionStatus::Active, "{code}");
    }
    // The provider is back: the next read renews.
    expire_at(&app, taskr::now() + 60).await;
    let renewed = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    assert_ne!(renewed.value, original.value);
}

#[tokio::test]
async fn an_outage_after_expiry_is_an_error_but_not_a_broken_connection() {
    let app = app_with(ProviderConfig::default()).await;
    connected_user(&app, "petra").await;
    let ctx = ctx(&app, "petra").await;
    expire_at(&app, taskr::now() - 10).await;
    provider(&app).set_fail_next_refreshes(1, 503, "temporarily_unavailable");
    match app.state.connections.user(&ctx, &SEQUENCER).await {
        Err(ConnectionError::Internal(e)) => {
            assert!(e.to_string().contains("could not renew"), "{e:#}")
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
    assert_eq!(status(&app, &ctx).await, ConnectionStatus::Active);
    // Tried again once the provider is back, without the user reconnecting.
    assert!(app.state.connections.user(&ctx, &SEQUENCER).await.is_ok());
}

#[tokio::test]
async fn a_refusal_other_than_invalid_grant_also_asks_for_a_reconnect() {
    let app = app_with(ProviderConfig {
        access_token_ttl: Duration::from_secs(60),
        ..Default::default()
    })
    .await;
    connected_user(&app, "quinn").await;
    let ctx = ctx(&app, "quinn").await;
    app.state.connections.forget_cached();
    provider(&app).set_fail_next_refreshes(1, 401, "invalid_client");
    match app.state.connections.user(&ctx, &SEQUENCER).await {
        Err(ConnectionError::Required(required)) => {
            let reason = required.reason.expect("a reason");
            assert!(reason.contains("invalid_client"), "{reason}");
            assert!(reason.contains("Reconnect"), "{reason}");
        }
        other => panic!("expected ConnectionRequired, got {other:?}"),
    }
    assert_eq!(status(&app, &ctx).await, ConnectionStatus::NeedsReconnect);
}
