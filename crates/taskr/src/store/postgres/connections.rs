//! Connections, their OAuth flows, and key rotation's view of every sealed value, in PostgreSQL.

use async_trait::async_trait;

use super::PostgresStore;
use crate::crypto::Sealed;
use crate::store::rows::{connection_from_row, flow_from_row, StoreRow};
use crate::store::{
    contexts, ConnectionFlow, ConnectionRecord, ConnectionStore, KeyStore, Owner, SealedSlot,
    SealedValue, StoreResult, TokenUpdate, UserId, WorkspaceId,
};

#[async_trait]
impl ConnectionStore for PostgresStore {
    async fn connection(
        &self,
        provider: &str,
        owner: &Owner,
    ) -> StoreResult<Option<ConnectionRecord>> {
        let row = sqlx::query(
            "SELECT * FROM connections WHERE provider = $1 AND owner_kind = $2 AND owner_id = $3",
        )
        .bind(provider)
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
             WHERE (owner_kind = 'user' AND owner_id = $1)
                OR (owner_kind = 'workspace' AND owner_id = $2)
             ORDER BY provider COLLATE \"C\", owner_kind COLLATE \"C\"",
        )
        .bind(user.0.to_string())
        .bind(workspace.map(|w| w.to_string()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection_from_row).collect()
    }

    async fn put_connection(&self, r: &ConnectionRecord) -> StoreResult<ConnectionRecord> {
        let row = sqlx::query(
            "INSERT INTO connections (provider, owner_kind, owner_id, kind, value_key_id,
                value_sealed, refresh_key_id, refresh_sealed, expires_at, scope, hint, status,
                status_reason, created_by, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', NULL, $12, $13, $14, 1)
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
        .bind(&r.provider)
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
        .fetch_one(&self.pool)
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
        // Compare-and-set on `version`: of two instances refreshing at once, one wins.
        let done = sqlx::query(
            "UPDATE connections SET value_key_id = $1, value_sealed = $2,
                refresh_key_id = COALESCE($3, refresh_key_id),
                refresh_sealed = COALESCE($4, refresh_sealed),
                expires_at = $5, scope = COALESCE($6, scope), hint = $7, status = 'active',
                status_reason = NULL, updated_at = $8, version = version + 1
             WHERE id = $9 AND version = $10",
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
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_needs_reconnect(&self, id: i64, reason: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE connections SET status = 'needs_reconnect', status_reason = $1,
                updated_at = $2, version = version + 1
             WHERE id = $3",
        )
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_connection(
        &self,
        provider: &str,
        owner: &Owner,
    ) -> StoreResult<Option<ConnectionRecord>> {
        let row = sqlx::query(
            "DELETE FROM connections WHERE provider = $1 AND owner_kind = $2 AND owner_id = $3
             RETURNING *",
        )
        .bind(provider)
        .bind(owner.kind.as_str())
        .bind(&owner.id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    async fn put_connection_flow(&self, f: &ConnectionFlow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO connection_flows (state_hash, session_hash, user_id, provider,
                owner_kind, owner_id, verifier_key_id, verifier_sealed, return_to, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&f.state_hash)
        .bind(&f.session_hash)
        .bind(f.user_id.0)
        .bind(&f.provider)
        .bind(f.owner.kind.as_str())
        .bind(&f.owner.id)
        .bind(&f.verifier.key_id)
        .bind(&f.verifier.bytes)
        .bind(&f.return_to)
        .bind(f.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_connection_flow(&self, state_hash: &[u8]) -> StoreResult<Option<ConnectionFlow>> {
        let row = sqlx::query("DELETE FROM connection_flows WHERE state_hash = $1 RETURNING *")
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }
}

#[async_trait]
impl KeyStore for PostgresStore {
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
            "SELECT user_id, token_key_id, token_sealed FROM attio_links
             WHERE token_key_id <> $1",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        {
            let user = row.int("user_id")?;
            values.push(SealedValue {
                slot: SealedSlot::AttioToken { user },
                context: contexts::attio_token(user),
                sealed: Sealed {
                    key_id: row.text("token_key_id")?,
                    bytes: row.bytes("token_sealed")?,
                },
            });
        }
        for row in sqlx::query(
            "SELECT workspace_id, secret_key_id, secret_sealed FROM webhooks
             WHERE secret_key_id <> $1",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        {
            let workspace = row.text("workspace_id")?;
            values.push(SealedValue {
                context: contexts::webhook_secret(&workspace),
                slot: SealedSlot::WebhookSecret { workspace },
                sealed: Sealed {
                    key_id: row.text("secret_key_id")?,
                    bytes: row.bytes("secret_sealed")?,
                },
            });
        }
        for row in sqlx::query(
            "SELECT * FROM connections WHERE value_key_id <> $1 OR refresh_key_id <> $1",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        {
            let c = connection_from_row(&row)?;
            let context =
                |part| contexts::connection(&c.provider, c.owner.kind.as_str(), &c.owner.id, part);
            if c.value.key_id != key {
                values.push(SealedValue {
                    slot: SealedSlot::ConnectionValue { id: c.id },
                    context: context("value"),
                    sealed: c.value.clone(),
                });
            }
            if let Some(refresh) = c.refresh.clone().filter(|r| r.key_id != key) {
                values.push(SealedValue {
                    slot: SealedSlot::ConnectionRefresh { id: c.id },
                    context: context("refresh"),
                    sealed: refresh,
                });
            }
        }
        for row in sqlx::query(
            "SELECT state_hash, verifier_key_id, verifier_sealed FROM connection_flows
             WHERE verifier_key_id <> $1",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        {
            let state_hash = row.bytes("state_hash")?;
            values.push(SealedValue {
                context: contexts::flow_verifier(&state_hash),
                slot: SealedSlot::FlowVerifier { state_hash },
                sealed: Sealed {
                    key_id: row.text("verifier_key_id")?,
                    bytes: row.bytes("verifier_sealed")?,
                },
            });
        }
        Ok(values)
    }

    async fn reseal(&self, slot: &SealedSlot, old: &Sealed, new: &Sealed) -> StoreResult<bool> {
        // Each slot's row is named by its own key ($3); the old value ($4, $5) must still be
        // there, so a concurrent change (a refresh, another rotation) wins.
        let (table, key_col, bytes_col, id_col) = match slot {
            SealedSlot::AttioToken { .. } => {
                ("attio_links", "token_key_id", "token_sealed", "user_id")
            }
            SealedSlot::WebhookSecret { .. } => {
                ("webhooks", "secret_key_id", "secret_sealed", "workspace_id")
            }
            SealedSlot::ConnectionValue { .. } => {
                ("connections", "value_key_id", "value_sealed", "id")
            }
            SealedSlot::ConnectionRefresh { .. } => {
                ("connections", "refresh_key_id", "refresh_sealed", "id")
            }
            SealedSlot::FlowVerifier { .. } => (
                "connection_flows",
                "verifier_key_id",
                "verifier_sealed",
                "state_hash",
            ),
        };
        let sql = format!(
            "UPDATE {table} SET {key_col} = $1, {bytes_col} = $2
             WHERE {id_col} = $3 AND {key_col} = $4 AND {bytes_col} = $5"
        );
        let query = sqlx::query(&sql).bind(&new.key_id).bind(&new.bytes);
        let query = match slot {
            SealedSlot::AttioToken { user } => query.bind(*user),
            SealedSlot::WebhookSecret { workspace } => query.bind(workspace.clone()),
            SealedSlot::ConnectionValue { id } | SealedSlot::ConnectionRefresh { id } => {
                query.bind(*id)
            }
            SealedSlot::FlowVerifier { state_hash } => query.bind(state_hash.clone()),
        };
        let done = query
            .bind(&old.key_id)
            .bind(&old.bytes)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
