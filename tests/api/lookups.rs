//! A reference the request names (a unit or group by id or code) that does not exist is the
//! client's mistake (422 on that field); a lookup that fails in the database is not, and is
//! never reported as one.

use dti_api::domain::Role;

use crate::helpers::*;

fn exec(app: &TestApp, sql: &str) {
    app.with_conn(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(sql).execute(c).unwrap();
    });
}

#[tokio::test]
async fn a_lookup_that_fails_in_the_database_is_not_reported_as_an_unknown_reference() {
    let app = spawn_seeded_app().await;
    let admin = app.token_for(Role::Admin, None);
    let routes = [
        ("/api/v1/units?group=LC-XA", "units?group"),
        ("/api/v1/users?unit=XA-BAC-HA", "users?unit"),
        ("/api/v1/units?parent=XA-BAC-HA", "units?parent"),
    ];
    // the references exist: the lookups succeed
    for (path, _) in routes {
        assert_eq!(app.get(path, &admin).await.status(), 200, "{path}");
    }
    // an unknown reference: 422 on the field
    let unknown = app.get("/api/v1/units?group=NO-SUCH-GROUP", &admin).await;
    assert_eq!(unknown.status(), 422);
    // the tables behind the lookups fail (as in an outage or a broken deployment): a server
    // error, never a 422 that blames the request
    exec(
        &app,
        "ALTER TABLE ranking_groups RENAME TO ranking_groups_away",
    );
    let group = app.get(routes[0].0, &admin).await.status().as_u16();
    exec(
        &app,
        "ALTER TABLE ranking_groups_away RENAME TO ranking_groups",
    );
    assert!(group >= 500, "{}: {group}", routes[0].1);

    exec(&app, "ALTER TABLE units RENAME TO units_away");
    // the administrator is still authenticated without that table: what fails is the lookup
    let authenticated = app.get("/api/v1/ranking-groups", &admin).await.status();
    let statuses = [
        app.get(routes[1].0, &admin).await.status().as_u16(),
        app.get(routes[2].0, &admin).await.status().as_u16(),
    ];
    exec(&app, "ALTER TABLE units_away RENAME TO units");
    assert_eq!(authenticated, 200);
    assert!(statuses.iter().all(|s| *s >= 500), "{statuses:?}");
}
