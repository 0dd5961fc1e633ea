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

/// An empty database (no migrations applied), dropped by the caller.
fn create_empty_database() -> String {
    let name = format!("dti_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&maintenance_url()).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE template0"))
        .execute(&mut admin)
        .unwrap();
    name
}

#[test]
fn replicas_starting_together_migrate_an_empty_database_once() {
    let db = create_empty_database();
    let url = url_for_db(&db);
    let replicas = 4;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(replicas));
    let runs: Vec<_> = (0..replicas)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let pool = dti_api::db::build_pool(&url, 1, std::time::Duration::from_secs(10));
                barrier.wait();
                dti_api::startup::migrate_with_retry(
                    &pool,
                    std::time::Duration::from_secs(10),
                    &dti_api::services::scoring::Caches::default(),
                )
                .map_err(|e| e.to_string())
            })
        })
        .collect();
    let applied: Vec<Vec<String>> = runs
        .into_iter()
        .map(|r| r.join().unwrap().expect("every replica starts"))
        .collect();
    let mut c = PgConnection::establish(&url).unwrap();
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let recorded = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut c)
        .unwrap()
        .n as usize;
    // One replica applied them all; the others found nothing left to do.
    assert_eq!(applied.iter().map(Vec::len).sum::<usize>(), recorded);
    assert_eq!(applied.iter().filter(|a| !a.is_empty()).count(), 1);
    drop(c);
    drop_database(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_an_empty_demo_database_seed_it_once() {
    let db = tokio::task::spawn_blocking(create_empty_database)
        .await
        .unwrap();
    let mut config = test_config(&db);
    config.seed_on_empty = true;
    config.mode = dti_api::config::Mode::Demo;
    let (first, second) = tokio::join!(spawn_app_with(config.clone()), spawn_replica(config));
    let admin = first.login("admin", DEMO_PASSWORD).await;
    assert_eq!(admin.status(), 200);
    let users = first.with_conn(|c| dti_api::db::models::users::User::count(c).unwrap());
    // The same accounts as one seeding alone gives.
    let single = spawn_seeded_app().await;
    let expected = single.with_conn(|c| dti_api::db::models::users::User::count(c).unwrap());
    assert_eq!(users, expected);
    drop(second);
}

/// Row counts of every table (what a migration's round trip must keep).
fn row_counts(c: &mut PgConnection) -> Vec<(String, i64)> {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' \
           AND tablename <> '__diesel_schema_migrations' ORDER BY 1",
    )
    .load(c)
    .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let n = diesel::sql_query(format!("SELECT count(*) AS n FROM {}", t.name))
                .get_result::<Count>(c)
                .unwrap()
                .n;
            (t.name, n)
        })
        .collect()
}

#[test]
fn each_migration_goes_up_down_and_up_again_to_the_same_schema() {
    use diesel_migrations::MigrationHarness;
    let db = create_empty_database();
    let mut c = PgConnection::establish(&url_for_db(&db)).unwrap();
    let migrations = c.pending_migrations(dti_api::db::MIGRATIONS).unwrap();
    assert!(migrations.len() > 10);
    let mut before = schema_fingerprint(&mut c);
    for m in &migrations {
        let name = m.name().to_string();
        c.run_migration(m).unwrap();
        let after = schema_fingerprint(&mut c);
        c.revert_migration(m)
            .unwrap_or_else(|e| panic!("{name} down: {e}"));
        assert_eq!(schema_fingerprint(&mut c), before, "{name} down");
        c.run_migration(m)
            .unwrap_or_else(|e| panic!("{name} up again: {e}"));
        assert_eq!(schema_fingerprint(&mut c), after, "{name} up again");
        before = after;
    }
    drop(c);
    drop_database(&db);
}

#[tokio::test]
async fn the_newest_migrations_go_down_and_up_again_under_a_scored_year() {
    use diesel_migrations::MigrationHarness;
    // a database with the demo seeds and a scored period
    let app = spawn_seeded_app().await;
    let admin = app.token_for(dti_api::domain::Role::Admin, None);
    crate::fixtures::fill_and_submit(
        &app,
        &crate::fixtures::open_period(&app, &admin, |_| {}).await.0,
    )
    .await;
    app.with_conn(|c| {
        let schema = schema_fingerprint(c);
        let rows = row_counts(c);
        let applied = c.applied_migrations().unwrap();
        let all = c.pending_migrations(dti_api::db::MIGRATIONS).unwrap();
        assert!(all.is_empty());
        let embedded: Vec<_> = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(
            &dti_api::db::MIGRATIONS,
        )
        .unwrap();
        // the two newest migrations down, newest first, and up again
        let newest: Vec<_> = embedded.iter().rev().take(2).collect();
        for m in &newest {
            c.revert_migration(*m)
                .unwrap_or_else(|e| panic!("{} down with data: {e}", m.name()));
        }
        for m in newest.iter().rev() {
            c.run_migration(*m)
                .unwrap_or_else(|e| panic!("{} up with data: {e}", m.name()));
        }
        assert_eq!(c.applied_migrations().unwrap().len(), applied.len());
        assert_eq!(schema_fingerprint(c), schema);
        assert_eq!(row_counts(c), rows);
    });
}

/// `diesel print-schema` types `text[]` columns as arrays of nullable text; the models read them
/// as `Vec`s through `TextArray`, which keeps every element in order and refuses a NULL element
/// rather than dropping it or reading it as an empty string.
#[test]
fn text_array_columns_read_in_order_and_refuse_a_null_element() {
    use diesel::dsl::sql;
    use diesel::sql_types::{Array, Nullable, Text};
    use dti_api::db::models::units::Unit;
    use dti_api::db::schema::units;
    use dti_api::db::text_array::TextArray;
    use dti_api::domain::TokenScope;

    let db = create_test_database();
    let mut c = PgConnection::establish(&url_for_db(&db)).unwrap();
    diesel::sql_query(
        "INSERT INTO units (id, code, name, search_name, kind, tags)
         VALUES (gen_random_uuid(), 'tags-test', 'Tags', 'tags', 'commune', ARRAY['zeta', 'alpha', 'mid'])",
    )
    .execute(&mut c)
    .unwrap();
    let read = |c: &mut PgConnection| {
        units::table
            .filter(units::code.eq("tags-test"))
            .select(Unit::as_select())
            .first(c)
    };
    assert_eq!(read(&mut c).unwrap().tags, ["zeta", "alpha", "mid"]);

    diesel::sql_query("UPDATE units SET tags = ARRAY['zeta', NULL] WHERE code = 'tags-test'")
        .execute(&mut c)
        .unwrap();
    let err = format!("{:?}", read(&mut c).unwrap_err());
    assert!(
        err.contains("element 2 of a text[] column is NULL"),
        "{err}"
    );

    // The closed sets read the same way, each element through its own parser.
    let scopes = diesel::select(sql::<Array<Nullable<Text>>>(
        "ARRAY['automatic:write']::text[]",
    ))
    .get_result::<TextArray<TokenScope>>(&mut c)
    .unwrap();
    assert_eq!(scopes.0, [TokenScope::AutomaticWrite]);
    let unknown = diesel::select(sql::<Array<Nullable<Text>>>("ARRAY['no:such']::text[]"))
        .get_result::<TextArray<TokenScope>>(&mut c);
    assert!(unknown.is_err());

    drop(c);
    drop_database(&db);
}
