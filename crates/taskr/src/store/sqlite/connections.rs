//! Connections, their OAuth flows, and key rotation's view of every sealed value, in SQLite.

use async_trait::async_trait;
use sqlx::Row;

use super::point_reads::Missed;
use super::SqliteStore;
use crate::crypto::{contexts, Sealed};
use crate::store::rows::{connection_from_row, flow_from_row};
use crate::store::{
    ConnectionFlow, ConnectionRecord, ConnectionStore, KeyStore, Owner, ProviderName, SealedSlot,
    SealedValue, StoreResult, TokenUpdate, UserId, WorkspaceId,
};

/// One connection by provider and owner (also run by `point_reads`).
const CONNECTION: &str =
    "SELECT * FROM connections WHERE provider = ? AND owner_kind = ? AND owner_id = ?";

#[async_trait]
impl ConnectionStore for SqliteStore {
    async fn connection(
        &self,
        provider: &ProviderName,
        owner: &Owner,
    ) -> StoreResult<Option<ConnectionRecord>> {
        if let Some(point_reads) = &self.point_reads {
            match point_reads.connection(CONNECTION, provider, owner) {
                Ok(found) => return Ok(found),
                Err(Missed::Busy) => {}
                Err(Missed::Failed(error)) => {
                    tracing::debug!(%error, "point read failed; reading through the pool");
                }
            }
        }
        let row = sqlx::query(CONNECTION)
            .bind(provider.as_str())
            .bind(owner.kind.as_str())
            .bind(&owner.id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    async fn connections_visible_to(
        &self,
        user: UserId,
        workspace: Option<WorkspaceId>,
    ) -> StoreResult<Vec<ConnectionRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM connections
             WHERE (owner_kind = 'user' AND owner_id = ?)
                OR (owner_kind = 'workspace' AND owner_id = ?)
             ORDER BY provider, owner_kind",
        )
        .bind(user.0.to_string())
        .bind(workspace.map(|w| w.to_string()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection_from_row).collect()
    }

    async fn put_connection(&self, r: &ConnectionRecord) -> StoreResult<ConnectionRecord> {
        let row = sqlx::query(
            "INSERT INTO connections (provider, owner_kind, owner_id, kind, value_key_id, value_sealed,
                refresh_key_id, refresh_sealed, expires_at, scope, hint, status, status_reason,
                created_by, created_at, updated_at, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', NULL, ?, ?, ?, 1)
             ON CONFLICT (provider, owner_kind, owner_id) DO UPDATE SET
                kind = excluded.kind, value_key_id = excluded.value_key_id,
                value_sealed = excluded.value_sealed, refresh_key_id = excluded.refresh_key_id,
                refresh_sealed = excluded.refresh_sealed, expires_at = excluded.expires_at,
                scope = excluded.scope, hint = excluded.hint, status = 'active',
                status_reason = NULL, created_by = excluded.created_by,
                created_at = excluded.created_at, updated_at = excluded.updated_at,
                version = connections.version + 1
             RETURNING *",
        )
        .bind(r.provider.as_str())
        .bind(r.owner.kind.as_str())
        .bind(&r.owner.id)
        .bind(&r.kind)
        .bind(&r.value.key_id)
        .bind(&r.value.bytes)
        .bind(r.refresh.as_ref().map(|s| s.key_id.clone()))
        .bind(r.refresh.as_ref().map(|s| s.bytes.clone()))
        .bind(r.expires_at)
        .bind(&r.scope)
        .bind(&r.hint)
        .bind(r.created_by.0)
        .bind(r.created_at)
        .bind(r.updated_at)
        .fetch_one(self.writer())
        .await?;
        connection_from_row(&row)
    }

    async fn update_tokens(
        &self,
        id: i64,
        expected_version: i64,
        u: &TokenUpdate,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE connections SET value_key_id = ?, value_sealed = ?,
                refresh_key_id = COALESCE(?, refresh_key_id),
                refresh_sealed = COALESCE(?, refresh_sealed),
                expires_at = ?, scope = COALESCE(?, scope), hint = ?, status = 'active',
                status_reason = NULL, updated_at = ?, version = version + 1
             WHERE id = ? AND version = ?",
        )
        .bind(&u.value.key_id)
        .bind(&u.value.bytes)
        .bind(u.refresh.as_ref().map(|s| s.key_id.clone()))
        .bind(u.refresh.as_ref().map(|s| s.bytes.clone()))
        .bind(u.expires_at)
        .bind(&u.scope)
        .bind(&u.hint)
        .bind(now)
        .bind(id)
        .bind(expected_version)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_needs_reconnect(&self, id: i64, reason: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE connections SET status = 'needs_reconnect', status_reason = ?, updated_at = ?,
                version = version + 1
             WHERE id = ?",
        )
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn delete_connection(
        &self,
        provider: &ProviderName,
        owner: &Owner,
    ) -> StoreResult<Option<ConnectionRecord>> {
        let row = sqlx::query(
            "DELETE FROM connections WHERE provider = ? AND owner_kind = ? AND owner_id = ?
             RETURNING *",
        )
        .bind(provider.as_str())
        .bind(owner.kind.as_str())
        .bind(&owner.id)
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    async fn put_connection_flow(&self, f: &ConnectionFlow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO connection_flows (state_hash, session_hash, user_id, provider, owner_kind,
                owner_id, verifier_key_id, verifier_sealed, return_to, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&f.state_hash)
        .bind(&f.session_hash)
        .bind(f.user_id.0)
        .bind(f.provider.as_str())
        .bind(f.owner.kind.as_str())
        .bind(&f.owner.id)
        .bind(&f.verifier.key_id)
        .bind(&f.verifier.bytes)
        .bind(&f.return_to)
        .bind(f.expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn take_connection_flow(&self, state_hash: &[u8]) -> StoreResult<Option<ConnectionFlow>> {
        let row = sqlx::query("DELETE FROM connection_flows WHERE state_hash = ? RETURNING *")
            .bind(state_hash)
            .fetch_optional(self.writer())
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn sealed_key_ids(&self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT token_key_id FROM attio_links
             UNION SELECT secret_key_id FROM webhooks
             UNION SELECT value_key_id FROM connections
             UNION SELECT refresh_key_id FROM connections WHERE refresh_key_id IS NOT NULL
             UNION SELECT verifier_key_id FROM connection_flows
             ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn sealed_values_not_under(&self, key: &str) -> StoreResult<Vec<SealedValue>> {
        let mut values = Vec::new();
        for row in sqlx::query(
            "SELECT user_id, token_key_id, token_sealed FROM attio_links WHERE token_key_id <> ?",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        {
            let user: i64 = row.try_get(0)?;
            values.push(SealedValue {
                slot: SealedSlot::AttioToken { user },
                context: contexts::attio_token(user),
                sealed: Sealed {
                    key_id: row.try_get(1)?,
                    bytes: row.try_get(2)?,
                },
            });
        }
        for row in sqlx::query("SELECT workspace_id, secret_key_id, secret_sealed FROM webhooks WHERE secret_key_id <> ?")
            .bind(key)
            .fetch_all(&self.pool)
            .await?
        {
            let workspace: String = row.try_get(0)?;
            values.push(SealedValue {
                context: contexts::webhook_secret(&workspace),
                slot: SealedSlot::WebhookSecret { workspace },
                sealed: Sealed { key_id: row.try_get(1)?, bytes: row.try_get(2)? },
            });
        }
        for row in sqlx::query(
            "SELECT id, provider, owner_kind, owner_id, value_key_id, value_sealed, refresh_key_id,
                    refresh_sealed
             FROM connections WHERE value_key_id <> ? OR refresh_key_id <> ?",
        )
        .bind(key)
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        {
            let id: i64 = row.try_get(0)?;
            let (provider, kind, owner): (String, String, String) =
                (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            let value_key: String = row.try_get(4)?;
            if value_key != key {
                values.push(SealedValue {
                    slot: SealedSlot::ConnectionValue { id },
                    context: contexts::connection(&provider, &kind, &owner, "value"),
                    sealed: Sealed {
                        key_id: value_key,
                        bytes: row.try_get(5)?,
                    },
                });
            }
            let refresh_key: Option<String> = row.try_get(6)?;
            let refresh_bytes: Option<Vec<u8>> = row.try_get(7)?;
            if let (Some(refresh_key), Some(bytes)) = (refresh_key, refresh_bytes) {
                if refresh_key != key {
                    values.push(SealedValue {
                        slot: SealedSlot::ConnectionRefresh { id },
                        context: contexts::connection(&provider, &kind, &owner, "refresh"),
                        sealed: Sealed {
                            key_id: refresh_key,
                            bytes,
                        },
                    });
                }
            }
        }
        for row in sqlx::query("SELECT state_hash, verifier_key_id, verifier_sealed FROM connection_flows WHERE verifier_key_id <> ?")
            .bind(key)
            .fetch_all(&self.pool)
            .await?
        {
            let state_hash: Vec<u8> = row.try_get(0)?;
            values.push(SealedValue {
                context: contexts::flow_verifier(&state_hash),
                slot: SealedSlot::FlowVerifier { state_hash },
                sealed: Sealed { key_id: row.try_get(1)?, bytes: row.try_get(2)? },
            });
        }
        Ok(values)
    }

    async fn reseal(&self, slot: &SealedSlot, old: &Sealed, new: &Sealed) -> StoreResult<bool> {
        let (sql, id): (&str, Vec<u8>) = match slot {
            SealedSlot::AttioToken { user } => (
                "UPDATE attio_links SET token_key_id = ?, token_sealed = ?
                 WHERE user_id = CAST(? AS INTEGER) AND token_key_id = ? AND token_sealed = ?",
                user.to_string().into_bytes(),
            ),
            SealedSlot::WebhookSecret { workspace } => (
                "UPDATE webhooks SET secret_key_id = ?, secret_sealed = ?
                 WHERE workspace_id = CAST(? AS TEXT) AND secret_key_id = ? AND secret_sealed = ?",
                workspace.clone().into_bytes(),
            ),
            SealedSlot::ConnectionValue { id } => (
                "UPDATE connections SET value_key_id = ?, value_sealed = ?
                 WHERE id = CAST(? AS INTEGER) AND value_key_id = ? AND value_sealed = ?",
                id.to_string().into_bytes(),
            ),
            SealedSlot::ConnectionRefresh { id } => (
                "UPDATE connections SET refresh_key_id = ?, refresh_sealed = ?
                 WHERE id = CAST(? AS INTEGER) AND refresh_key_id = ? AND refresh_sealed = ?",
                id.to_string().into_bytes(),
            ),
            SealedSlot::FlowVerifier { state_hash } => (
                "UPDATE connection_flows SET verifier_key_id = ?, verifier_sealed = ?
                 WHERE state_hash = ? AND verifier_key_id = ? AND verifier_sealed = ?",
                state_hash.clone(),
            ),
        };
        let mut query = sqlx::query(sql).bind(&new.key_id).bind(&new.bytes);
        query = match slot {
            SealedSlot::FlowVerifier { .. } => query.bind(id),
            _ => query.bind(String::from_utf8(id).unwrap_or_default()),
        };
        let done = query
            .bind(&old.key_id)
            .bind(&old.bytes)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
