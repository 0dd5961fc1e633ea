use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{answers, evidence, evidence_blobs};
use crate::domain::workflow::EvidenceKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = evidence)]
pub struct Evidence {
    pub id: Uuid,
    pub answer_id: Uuid,
    pub kind: EvidenceKind,
    pub blob_sha256: Option<String>,
    pub filename: Option<String>,
    pub url: Option<String>,
    pub doc_number: Option<String>,
    pub doc_date: Option<NaiveDate>,
    pub doc_issuer: Option<String>,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = evidence)]
pub struct NewEvidence {
    pub id: Uuid,
    pub answer_id: Uuid,
    pub kind: EvidenceKind,
    pub blob_sha256: Option<String>,
    pub filename: Option<String>,
    pub url: Option<String>,
    pub doc_number: Option<String>,
    pub doc_date: Option<NaiveDate>,
    pub doc_issuer: Option<String>,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = evidence_blobs)]
pub struct Blob {
    pub sha256: String,
    pub size_bytes: i64,
    pub content_type: String,
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
}

impl NewEvidence {
    /// A new item of `kind` on an answer, its details (file, link, document) still blank: the
    /// one place every way of adding evidence starts from.
    pub fn blank(answer_id: Uuid, kind: EvidenceKind, created_by: Option<Uuid>) -> NewEvidence {
        NewEvidence {
            id: Uuid::new_v4(),
            answer_id,
            kind,
            blob_sha256: None,
            filename: None,
            url: None,
            doc_number: None,
            doc_date: None,
            doc_issuer: None,
            description: None,
            created_by,
        }
    }
}

impl Evidence {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<(Evidence, Uuid, Uuid)>> {
        evidence::table
            .inner_join(answers::table)
            .filter(evidence::id.eq(id))
            .select((
                Evidence::as_select(),
                answers::assessment_id,
                answers::node_id,
            ))
            .first(conn)
            .optional()
    }

    pub fn of_answer(conn: &mut PgConnection, answer: Uuid) -> QueryResult<Vec<Evidence>> {
        evidence::table
            .filter(evidence::answer_id.eq(answer))
            .order(evidence::created_at.asc())
            .select(Evidence::as_select())
            .load(conn)
    }

    /// The evidence of some answers, oldest first (one statement).
    pub fn of_answers(conn: &mut PgConnection, answers: &[Uuid]) -> QueryResult<Vec<Evidence>> {
        if answers.is_empty() {
            return Ok(Vec::new());
        }
        evidence::table
            .filter(evidence::answer_id.eq_any(answers))
            .order(evidence::created_at.asc())
            .select(Evidence::as_select())
            .load(conn)
    }

    /// Inserts many evidence items, one statement per 2,000 (the bind parameters' limit).
    pub fn insert_many(conn: &mut PgConnection, rows: &[NewEvidence]) -> QueryResult<usize> {
        let mut n = 0;
        for chunk in rows.chunks(2_000) {
            n += diesel::insert_into(evidence::table)
                .values(chunk)
                .execute(conn)?;
        }
        Ok(n)
    }

    pub fn insert(conn: &mut PgConnection, new: &NewEvidence) -> QueryResult<Evidence> {
        diesel::insert_into(evidence::table)
            .values(new)
            .returning(Evidence::as_returning())
            .get_result(conn)
    }

    pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(evidence::table.find(id)).execute(conn)
    }

    pub fn blob_refs(conn: &mut PgConnection, sha: &str) -> QueryResult<i64> {
        evidence::table
            .filter(evidence::blob_sha256.eq(sha))
            .count()
            .get_result(conn)
    }
}

impl Blob {
    pub fn find(conn: &mut PgConnection, sha: &str) -> QueryResult<Option<Blob>> {
        evidence_blobs::table
            .find(sha)
            .select(Blob::as_select())
            .first(conn)
            .optional()
    }

    /// Records a stored blob (no-op when the content is known already).
    pub fn ensure(
        conn: &mut PgConnection,
        sha: &str,
        size: i64,
        content_type: &str,
        key: &str,
    ) -> QueryResult<()> {
        diesel::insert_into(evidence_blobs::table)
            .values((
                evidence_blobs::sha256.eq(sha),
                evidence_blobs::size_bytes.eq(size),
                evidence_blobs::content_type.eq(content_type),
                evidence_blobs::storage_key.eq(key),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        Ok(())
    }

    pub fn delete(conn: &mut PgConnection, sha: &str) -> QueryResult<usize> {
        diesel::delete(evidence_blobs::table.find(sha)).execute(conn)
    }

    /// Takes the lock of one content (by SHA-256) until the end of the transaction: the
    /// writers of a stored file (an upload storing it and recording a row that references it,
    /// a clean-up deleting it when nothing references it) run one at a time. A transaction-level
    /// advisory lock, in its own key space (`CONTENT_LOCK_SPACE`); two contents whose hashes
    /// share their first 32 bits merely wait for each other.
    pub fn lock_content(conn: &mut PgConnection, sha: &str) -> QueryResult<()> {
        let prefix = sha.get(..8).and_then(|p| u32::from_str_radix(p, 16).ok());
        // not a hash (the database refuses it anyway): any key will do
        let key = prefix.unwrap_or(0) as i32;
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<diesel::sql_types::Integer, _>(CONTENT_LOCK_SPACE)
            .bind::<diesel::sql_types::Integer, _>(key)
            .execute(conn)?;
        Ok(())
    }
}

/// The first key of the two-key advisory locks on evidence contents ("EVID").
const CONTENT_LOCK_SPACE: i32 = 0x4556_4944;

/// The answer row of (assessment, node), created empty when the unit attaches evidence before
/// answering.
pub fn ensure_answer(
    conn: &mut PgConnection,
    assessment: Uuid,
    node: Uuid,
    by: Uuid,
) -> QueryResult<Uuid> {
    diesel::insert_into(answers::table)
        .values((
            answers::id.eq(Uuid::new_v4()),
            answers::assessment_id.eq(assessment),
            answers::node_id.eq(node),
            answers::updated_by.eq(by),
        ))
        .on_conflict((answers::assessment_id, answers::node_id))
        .do_nothing()
        .execute(conn)?;
    answers::table
        .filter(answers::assessment_id.eq(assessment))
        .filter(answers::node_id.eq(node))
        .select(answers::id)
        .first(conn)
}
