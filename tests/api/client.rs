//! A typed client of the API for the tests: one method per route, acting as one caller, so
//! that a test reads as the behaviour it specifies.
//!
//! ```ignore
//! let editor = app.as_role(Role::UnitEditor, Some("XA-BAC-HA"));
//! let leader = app.as_role(Role::UnitLeader, Some("XA-BAC-HA"));
//! editor.submit(&a).problem(403, "LEADER_ONLY").await;
//! let s = leader.submit(&a).ok().await;
//! assert_eq!(s["state"], "submitted");
//! ```
//!
//! A route method only prepares the request (a [`Call`]); the test then says what it expects
//! of the answer: [`Call::ok`] (200), [`Call::created`] (201), [`Call::expect`] (any status),
//! or [`Call::problem`] (a problem+json answer with its status and code). Each returns the
//! parsed JSON body after asserting. [`Call::send`] returns the raw response for tests that
//! read headers or bytes.
//!
//! The client covers the routes, not only those that today's tests call: a route method no
//! test uses yet is not dead code to remove.
#![allow(dead_code)]

use dti_api::domain::Role;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, json_ok};

/// One caller of the API: a bearer token, or none (the public, anonymous reads).
pub struct Client<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl TestApp {
    /// A client acting as a new user of `role` (in unit `unit_code` for unit roles).
    pub fn as_role(&self, role: Role, unit_code: Option<&str>) -> Client<'_> {
        Client {
            app: self,
            token: Some(self.token_for(role, unit_code)),
        }
    }

    /// A client acting with `token`.
    pub fn as_token(&self, token: &str) -> Client<'_> {
        Client {
            app: self,
            token: Some(token.to_string()),
        }
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client<'_> {
        Client {
            app: self,
            token: None,
        }
    }
}

/// A request about to be sent, and what the test expects of its answer.
#[must_use = "a call is sent by one of its expectations (ok, created, expect, problem, send)"]
pub struct Call<'a> {
    app: &'a TestApp,
    token: Option<String>,
    method: Method,
    path: String,
    body: Option<Value>,
    headers: Vec<(String, String)>,
}

impl Call<'_> {
    /// Adds `query` (`name=value&...`) to the path.
    pub fn query(mut self, query: &str) -> Self {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        self.path = format!("{}{sep}{query}", self.path);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Asks for answers in `language` (`Accept-Language`).
    pub fn language(self, language: &str) -> Self {
        self.header("accept-language", language)
    }

    /// Sends the call with an `Idempotency-Key`.
    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    /// Sends the call and returns the raw response.
    pub async fn send(self) -> Response {
        let mut rb = self
            .app
            .request(self.method, &self.path, self.token.as_deref());
        for (name, value) in &self.headers {
            rb = rb.header(name, value);
        }
        if let Some(body) = &self.body {
            rb = rb.json(body);
        }
        rb.send().await.unwrap()
    }

    /// Expects `status`; returns the JSON body (`null` when there is none).
    pub async fn expect(self, status: u16) -> Value {
        json_ok(self.send().await, status).await
    }

    /// Expects 200; returns the JSON body.
    pub async fn ok(self) -> Value {
        self.expect(200).await
    }

    /// Expects 201; returns the JSON body.
    pub async fn created(self) -> Value {
        self.expect(201).await
    }

    /// Expects a problem+json answer with `status` and `code`; returns the problem.
    pub async fn problem(self, status: u16, code: &str) -> Value {
        assert_problem(self.send().await, status, code).await
    }
}

impl<'a> Client<'a> {
    /// The client's bearer token (for fixtures that take one).
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("an authenticated client")
    }

    fn call(&self, method: Method, path: String, body: Option<Value>) -> Call<'a> {
        Call {
            app: self.app,
            token: self.token.clone(),
            method,
            path: format!("/api/v1{path}"),
            body,
            headers: Vec::new(),
        }
    }

    pub fn get(&self, path: impl Into<String>) -> Call<'a> {
        self.call(Method::GET, path.into(), None)
    }

    pub fn post(&self, path: impl Into<String>, body: Value) -> Call<'a> {
        self.call(Method::POST, path.into(), Some(body))
    }

    pub fn put(&self, path: impl Into<String>, body: Value) -> Call<'a> {
        self.call(Method::PUT, path.into(), Some(body))
    }

    pub fn patch(&self, path: impl Into<String>, body: Value) -> Call<'a> {
        self.call(Method::PATCH, path.into(), Some(body))
    }

    pub fn delete(&self, path: impl Into<String>) -> Call<'a> {
        self.call(Method::DELETE, path.into(), None)
    }

    // --- Sign-in and the caller ---

    /// `POST /auth/login`.
    pub fn login(&self, username: &str, password: &str) -> Call<'a> {
        self.post(
            "/auth/login",
            json!({"username": username, "password": password}),
        )
    }

    /// `GET /me`.
    pub fn me(&self) -> Call<'a> {
        self.get("/me")
    }

    /// `POST /me/password`.
    pub fn change_password(&self, body: Value) -> Call<'a> {
        self.post("/me/password", body)
    }

    /// `GET /me/tasks`.
    pub fn tasks(&self) -> Call<'a> {
        self.get("/me/tasks")
    }

    // --- Indicator sets ---

    /// `POST /indicator-sets`.
    pub fn create_indicator_set(&self, document: Value) -> Call<'a> {
        self.post("/indicator-sets", document)
    }

    /// `GET /indicator-sets/{id}`.
    pub fn indicator_set(&self, id: &str) -> Call<'a> {
        self.get(format!("/indicator-sets/{id}"))
    }

    /// `POST /indicator-sets/{id}/activate`.
    pub fn activate_indicator_set(&self, id: &str) -> Call<'a> {
        self.post(format!("/indicator-sets/{id}/activate"), json!({}))
    }

    // --- Periods ---

    /// `POST /periods`.
    pub fn create_period(&self, body: Value) -> Call<'a> {
        self.post("/periods", body)
    }

    /// `GET /periods`.
    pub fn periods(&self) -> Call<'a> {
        self.get("/periods")
    }

    /// `GET /periods/{id}`.
    pub fn period(&self, id: &str) -> Call<'a> {
        self.get(format!("/periods/{id}"))
    }

    /// `POST /periods/{id}/transitions`: moves the period to phase `to`.
    pub fn transition(&self, period: &str, to: &str) -> Call<'a> {
        self.post(
            format!("/periods/{period}/transitions"),
            json!({ "to": to }),
        )
    }

    /// `GET /periods/{id}/assessments`.
    pub fn assessments(&self, period: &str) -> Call<'a> {
        self.get(format!("/periods/{period}/assessments"))
    }

    /// `POST /periods/{id}/assessments/bulk`.
    pub fn bulk(&self, period: &str, body: Value) -> Call<'a> {
        self.post(format!("/periods/{period}/assessments/bulk"), body)
    }

    /// `GET /periods/{id}/rankings` (add filters with [`Call::query`]).
    pub fn rankings(&self, period: &str) -> Call<'a> {
        self.get(format!("/periods/{period}/rankings"))
    }

    /// `GET /periods/{id}/progress`.
    pub fn progress(&self, period: &str) -> Call<'a> {
        self.get(format!("/periods/{period}/progress"))
    }

    /// `POST /periods/{id}/recompute`.
    pub fn recompute(&self, period: &str) -> Call<'a> {
        self.post(format!("/periods/{period}/recompute"), json!({}))
    }

    /// `POST /periods/{id}/publications`: publishes the results of `group`.
    pub fn publish(&self, period: &str, group: &str) -> Call<'a> {
        self.post(
            format!("/periods/{period}/publications"),
            json!({ "group": group }),
        )
    }

    /// `GET /periods/{id}/publications`.
    pub fn publications(&self, period: &str) -> Call<'a> {
        self.get(format!("/periods/{period}/publications"))
    }

    /// `GET /periods/{id}/exports/answers`.
    pub fn export_answers(&self, period: &str) -> Call<'a> {
        self.get(format!("/periods/{period}/exports/answers"))
    }

    // --- Assessments ---

    /// `GET /assessments/{id}`.
    pub fn assessment(&self, id: &str) -> Call<'a> {
        self.get(format!("/assessments/{id}"))
    }

    /// `PUT /assessments/{id}/answers/{node}`: one answer.
    pub fn put_answer(&self, assessment: &str, node: &str, body: Value) -> Call<'a> {
        self.put(format!("/assessments/{assessment}/answers/{node}"), body)
    }

    /// `PUT /assessments/{id}/answers`: a batch of answers.
    pub fn put_answers(&self, assessment: &str, body: Value) -> Call<'a> {
        self.put(format!("/assessments/{assessment}/answers"), body)
    }

    /// `GET /assessments/{id}/score`: the explained score tree.
    pub fn score(&self, assessment: &str) -> Call<'a> {
        self.get(format!("/assessments/{assessment}/score"))
    }

    /// `POST /assessments/{id}/what-if`.
    pub fn what_if(&self, assessment: &str, body: Value) -> Call<'a> {
        self.post(format!("/assessments/{assessment}/what-if"), body)
    }

    /// `POST /assessments/{id}/submit`: the leader's confirmation.
    pub fn submit(&self, assessment: &str) -> Call<'a> {
        self.post(format!("/assessments/{assessment}/submit"), json!({}))
    }

    /// `POST /assessments/{id}/submit-on-behalf`.
    pub fn submit_on_behalf(&self, assessment: &str, body: Value) -> Call<'a> {
        self.post(format!("/assessments/{assessment}/submit-on-behalf"), body)
    }

    /// `PUT /assessments/{id}/adjustments/{node}`: a reviewer's adjustment.
    pub fn adjust(&self, assessment: &str, node: &str, body: Value) -> Call<'a> {
        self.put(
            format!("/assessments/{assessment}/adjustments/{node}"),
            body,
        )
    }

    /// `POST /assessments/{id}/return` with `body` (`{"reason": ...}`).
    pub fn return_to_unit(&self, assessment: &str, body: Value) -> Call<'a> {
        self.post(format!("/assessments/{assessment}/return"), body)
    }

    /// `POST /assessments/{id}/finalise`.
    pub fn finalise(&self, assessment: &str) -> Call<'a> {
        self.post(format!("/assessments/{assessment}/finalise"), json!({}))
    }

    /// `POST /assessments/{id}/finalise-not-submitted`.
    pub fn finalise_not_submitted(&self, assessment: &str, body: Value) -> Call<'a> {
        self.post(
            format!("/assessments/{assessment}/finalise-not-submitted"),
            body,
        )
    }

    /// `POST /assessments/{id}/reopen` with `body` (`{"reason": ...}`).
    pub fn reopen(&self, assessment: &str, body: Value) -> Call<'a> {
        self.post(format!("/assessments/{assessment}/reopen"), body)
    }

    /// `PUT /assessments/{id}/deadline`.
    pub fn set_deadline(&self, assessment: &str, deadline: &str) -> Call<'a> {
        self.put(
            format!("/assessments/{assessment}/deadline"),
            json!({ "deadline": deadline }),
        )
    }

    /// `PUT /assessments/{id}/ranking-exclusion` with `body` (`{"reason": ...}`).
    pub fn exclude_from_ranking(&self, assessment: &str, body: Value) -> Call<'a> {
        self.put(format!("/assessments/{assessment}/ranking-exclusion"), body)
    }

    /// `DELETE /assessments/{id}/ranking-exclusion`.
    pub fn include_in_ranking(&self, assessment: &str) -> Call<'a> {
        self.delete(format!("/assessments/{assessment}/ranking-exclusion"))
    }

    // --- Clarifications ---

    /// `POST /assessments/{id}/clarifications`: asks the unit about `node`.
    pub fn ask(&self, assessment: &str, node: &str, message: &str) -> Call<'a> {
        self.post(
            format!("/assessments/{assessment}/clarifications"),
            json!({"node_code": node, "message": message}),
        )
    }

    /// `GET /assessments/{id}/clarifications`.
    pub fn clarifications(&self, assessment: &str) -> Call<'a> {
        self.get(format!("/assessments/{assessment}/clarifications"))
    }

    /// `POST /clarifications/{id}/messages`.
    pub fn reply(&self, clarification: &str, message: &str) -> Call<'a> {
        self.post(
            format!("/clarifications/{clarification}/messages"),
            json!({ "message": message }),
        )
    }

    /// `POST /clarifications/{id}/close`.
    pub fn close_clarification(&self, clarification: &str, body: Value) -> Call<'a> {
        self.post(format!("/clarifications/{clarification}/close"), body)
    }

    // --- Evidence ---

    /// `GET /assessments/{id}/answers/{node}/evidence`.
    pub fn evidence(&self, assessment: &str, node: &str) -> Call<'a> {
        self.get(format!("/assessments/{assessment}/answers/{node}/evidence"))
    }

    /// `POST /assessments/{id}/answers/{node}/evidence`: a link or a document reference.
    pub fn add_evidence(&self, assessment: &str, node: &str, body: Value) -> Call<'a> {
        self.post(
            format!("/assessments/{assessment}/answers/{node}/evidence"),
            body,
        )
    }

    /// `DELETE /evidence/{id}`.
    pub fn delete_evidence(&self, id: &str) -> Call<'a> {
        self.delete(format!("/evidence/{id}"))
    }

    // --- Audit ---

    /// `GET /audit-events` (add filters with [`Call::query`]).
    pub fn audit_events(&self) -> Call<'a> {
        self.get("/audit-events")
    }

    // --- Units, users, ranking groups ---

    /// `GET /units`.
    pub fn units(&self) -> Call<'a> {
        self.get("/units")
    }

    /// `GET /units/{id}`.
    pub fn unit(&self, id: &str) -> Call<'a> {
        self.get(format!("/units/{id}"))
    }

    /// `POST /units`.
    pub fn create_unit(&self, body: Value) -> Call<'a> {
        self.post("/units", body)
    }

    /// `PATCH /units/{id}`.
    pub fn update_unit(&self, id: &str, body: Value) -> Call<'a> {
        self.patch(format!("/units/{id}"), body)
    }

    /// `GET /units/{id}/lineage`.
    pub fn lineage(&self, id: &str) -> Call<'a> {
        self.get(format!("/units/{id}/lineage"))
    }

    /// `GET /users`.
    pub fn users(&self) -> Call<'a> {
        self.get("/users")
    }

    /// `GET /users/{id}`.
    pub fn user(&self, id: &str) -> Call<'a> {
        self.get(format!("/users/{id}"))
    }

    /// `POST /users`.
    pub fn create_user(&self, body: Value) -> Call<'a> {
        self.post("/users", body)
    }

    /// `PATCH /users/{id}`.
    pub fn update_user(&self, id: &str, body: Value) -> Call<'a> {
        self.patch(format!("/users/{id}"), body)
    }

    /// `GET /ranking-groups`.
    pub fn ranking_groups(&self) -> Call<'a> {
        self.get("/ranking-groups")
    }

    /// `GET /ranking-groups/{id}`.
    pub fn ranking_group(&self, id: &str) -> Call<'a> {
        self.get(format!("/ranking-groups/{id}"))
    }

    /// `POST /ranking-groups`.
    pub fn create_ranking_group(&self, body: Value) -> Call<'a> {
        self.post("/ranking-groups", body)
    }

    /// `PATCH /ranking-groups/{id}`.
    pub fn update_ranking_group(&self, id: &str, body: Value) -> Call<'a> {
        self.patch(format!("/ranking-groups/{id}"), body)
    }

    /// `PUT /ranking-groups/{id}/members`.
    pub fn set_members(&self, id: &str, body: Value) -> Call<'a> {
        self.put(format!("/ranking-groups/{id}/members"), body)
    }

    // --- Jobs ---

    /// `GET /jobs`.
    pub fn jobs(&self) -> Call<'a> {
        self.get("/jobs")
    }

    /// `GET /jobs/{id}`.
    pub fn job(&self, id: &str) -> Call<'a> {
        self.get(format!("/jobs/{id}"))
    }

    /// `POST /jobs/{id}/cancel`.
    pub fn cancel_job(&self, id: &str) -> Call<'a> {
        self.post(format!("/jobs/{id}/cancel"), json!({}))
    }

    // --- Public reads ---

    /// `GET /public/periods`.
    pub fn public_periods(&self) -> Call<'a> {
        self.get("/public/periods")
    }

    /// `GET /public/periods/{id}/rankings`.
    pub fn public_rankings(&self, period: &str) -> Call<'a> {
        self.get(format!("/public/periods/{period}/rankings"))
    }

    /// `GET /public/periods/{id}/units/{code}`.
    pub fn public_unit(&self, period: &str, unit_code: &str) -> Call<'a> {
        self.get(format!("/public/periods/{period}/units/{unit_code}"))
    }
}
