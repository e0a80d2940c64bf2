//! Named leases on PostgreSQL (written once in `store::leases_sql`).

crate::store::leases_sql::impl_lease_store!(super::PostgresStore);
