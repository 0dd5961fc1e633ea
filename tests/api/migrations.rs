use diesel::prelude::*;

use crate::helpers::*;

fn schema_fingerprint(c: &mut PgConnection) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    diesel::sql_query(
        "SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable AS line
           FROM information_schema.columns WHERE table_schema = 'public'
         UNION ALL
         SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
           FROM pg_constraint WHERE connamespace = 'public'::regnamespace
         UNION ALL
         SELECT tgrelid::regclass::text || ' trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
         ORDER BY 1",
    )
    .load::<Row>(c)
    .unwrap()
    .into_iter()
    .map(|r| r.line)
    .collect()
}

#[test]
fn every_down_migration_reverses_its_up_migration() {
    let db = create_test_database();
    let mut c = PgConnection::establish(&url_for_db(&db)).unwrap();
    let migrated = schema_fingerprint(&mut c);
    assert!(migrated.iter().any(|l| l.starts_with("audit_events.")));
    dti_api::db::revert_all_migrations(&mut c).unwrap();
    let empty = schema_fingerprint(&mut c);
    assert!(
        empty
            .iter()
            .all(|l| l.starts_with("__diesel_schema_migrations")),
        "left behind after reverting: {empty:?}"
    );
    dti_api::db::run_migrations(&mut c).unwrap();
    assert_eq!(schema_fingerprint(&mut c), migrated);
    drop(c);
    drop_database(&db);
}

#[test]
fn the_audit_table_refuses_updates_and_deletes() {
    let db = create_test_database();
    let mut c = PgConnection::establish(&url_for_db(&db)).unwrap();
    diesel::sql_query("INSERT INTO audit_events (action, entity_type) VALUES ('test', 'test')")
        .execute(&mut c)
        .unwrap();
    for sql in [
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let err = diesel::sql_query(sql).execute(&mut c).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(c);
    drop_database(&db);
}
