//! The catalogue of problem codes: every `code` an `application/problem+json` answer of this
//! API may carry, with its HTTP status and what it means. One list, used by the OpenAPI
//! document (the `Problem.code` enum and its descriptions, each operation's specific 4xx
//! statuses) and by the completeness test of the Vietnamese catalogue ([`crate::i18n`]).
//! A code the code emits must be listed here (a test reads the sources to make sure).

/// One problem code.
#[derive(Debug, Clone, Copy)]
pub struct ProblemCode {
    pub code: &'static str,
    pub status: u16,
    pub description: &'static str,
}

const fn c(code: &'static str, status: u16, description: &'static str) -> ProblemCode {
    ProblemCode {
        code,
        status,
        description,
    }
}

/// Every problem code, grouped by status.
pub const CATALOGUE: &[ProblemCode] = &[
    // 400
    c(
        "MALFORMED_JSON",
        400,
        "The body is not valid JSON (or not of the request's schema shape at all).",
    ),
    c("MALFORMED_BODY", 400, "The body could not be read."),
    c(
        "MALFORMED_YAML",
        400,
        "A YAML set document could not be parsed.",
    ),
    c(
        "MALFORMED_DOCUMENT",
        400,
        "A set document could not be parsed as JSON or YAML.",
    ),
    c(
        "MALFORMED_MULTIPART",
        400,
        "The multipart body could not be read.",
    ),
    c(
        "BODY_NOT_OBJECT",
        400,
        "The body must be a JSON object (`{…}`).",
    ),
    c(
        "INVALID_QUERY",
        400,
        "A query parameter is invalid; see `errors[]`.",
    ),
    c(
        "INVALID_PATH_PARAMETER",
        400,
        "A path parameter is invalid (e.g. not a UUID); see `errors[]`.",
    ),
    c("INVALID_HEADER", 400, "A request header is invalid."),
    c(
        "IDEMPOTENCY_KEY_INVALID",
        400,
        "`Idempotency-Key` must be 1 to 200 printable ASCII characters, sent once.",
    ),
    c(
        "NUL_CHARACTER",
        400,
        "A text contains the NUL character (U+0000), which no text accepts.",
    ),
    // 401
    c(
        "AUTH_REQUIRED",
        401,
        "No `Authorization: Bearer <token>` was sent.",
    ),
    c("TOKEN_INVALID", 401, "The token is not valid."),
    c("TOKEN_EXPIRED", 401, "The token has expired; log in again."),
    c(
        "TOKEN_REVOKED",
        401,
        "The token no longer counts (password, role, unit or active state changed, or the integration token was revoked).",
    ),
    c(
        "INVALID_CREDENTIALS",
        401,
        "Wrong username or password (or an inactive account).",
    ),
    c(
        "METRICS_TOKEN_REQUIRED",
        401,
        "`GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`.",
    ),
    // 403
    c(
        "FORBIDDEN_ROLE",
        403,
        "The caller's role may not do this (`required_roles` lists who may).",
    ),
    c(
        "NOT_YOUR_UNIT",
        403,
        "The data belongs to another unit; unit accounts see and act on their own unit only.",
    ),
    c(
        "LEADER_ONLY",
        403,
        "Only the unit's leader may confirm and submit its self-assessment.",
    ),
    c(
        "FORBIDDEN_SCOPE",
        403,
        "The integration token has no scope for this operation.",
    ),
    c(
        "INTEGRATION_TOKEN_NOT_ALLOWED",
        403,
        "Integration tokens may only write automatic measurements.",
    ),
    c(
        "PASSWORD_CHANGE_REQUIRED",
        403,
        "The account must change its password first (`POST /api/v1/me/password`): it has a one-time password from an import or a password an administrator set.",
    ),
    c(
        "METRICS_DISABLED",
        403,
        "Metrics are served only with a METRICS_TOKEN configured.",
    ),
    // 404, 405, 408
    c(
        "NOT_FOUND",
        404,
        "The resource does not exist (or is not visible to the caller).",
    ),
    c("ROUTE_NOT_FOUND", 404, "No route has this path."),
    c(
        "EVIDENCE_FILE_MISSING",
        404,
        "The evidence's file is no longer in the store (logged); upload it again.",
    ),
    c(
        "METHOD_NOT_ALLOWED",
        405,
        "The path exists but not with this method (`Allow` lists the methods).",
    ),
    c(
        "BODY_TIMEOUT",
        408,
        "The body did not arrive in time and was not processed; send it again.",
    ),
    // 409
    c(
        "PHASE_CLOSED",
        409,
        "The period's phase does not allow this (`allowed_in_phase` lists when it is allowed).",
    ),
    c(
        "ALREADY_SUBMITTED",
        409,
        "The assessment is submitted and locked for the unit until a reviewer returns it.",
    ),
    c(
        "ASSESSMENT_FINALISED",
        409,
        "The assessment is finalised; its result is official.",
    ),
    c(
        "INVALID_STATE",
        409,
        "Not possible in the assessment's state (`allowed_in_state` lists when it is).",
    ),
    c(
        "INVALID_TRANSITION",
        409,
        "The period cannot move from its phase to the one asked for.",
    ),
    c(
        "SET_IMMUTABLE",
        409,
        "The indicator set is active or retired and cannot change; create a new version.",
    ),
    c(
        "SET_VERSION_EXISTS",
        409,
        "A set with this code and version exists.",
    ),
    c(
        "ALREADY_EXISTS",
        409,
        "A resource with the same unique key exists (`constraint` names it).",
    ),
    c("CODE_TAKEN", 409, "The code is taken."),
    c(
        "JOB_FINISHED",
        409,
        "The job has already ended (`state` says how); it can no longer be cancelled.",
    ),
    c(
        "JOB_CANCELLED",
        409,
        "A job's `problem` when it was cancelled: it stopped and nothing of it was stored.",
    ),
    c("USERNAME_TAKEN", 409, "The username is taken."),
    c(
        "IN_USE",
        409,
        "The resource is still referenced by other data and cannot be deleted.",
    ),
    c(
        "IMMUTABLE",
        409,
        "The record may not be changed or deleted.",
    ),
    c(
        "CLARIFICATION_CLOSED",
        409,
        "The clarification thread is closed.",
    ),
    c(
        "WEBHOOK_DISABLED",
        409,
        "The webhook is disabled; enable it before redelivering.",
    ),
    c(
        "DELIVERY_PENDING",
        409,
        "The delivery is still being retried; redeliver once it succeeded or failed for good.",
    ),
    c(
        "UNIT_KIND_IN_GROUP",
        409,
        "The unit's kind cannot change while it belongs to ranking groups of another kind.",
    ),
    c(
        "UNIT_IN_TWO_GROUPS",
        409,
        "A unit would belong to two ranking groups of the period.",
    ),
    c(
        "NOT_ALL_FINALISED",
        409,
        "Not every assessment of the group is finalised (or excluded from ranking).",
    ),
    c(
        "BULK_REFUSED",
        409,
        "Some assessments refused the bulk action, so nothing changed (`refusals[]`).",
    ),
    c(
        "CANNOT_DEMOTE_SELF",
        409,
        "An administrator cannot demote or deactivate their own account.",
    ),
    c(
        "IDEMPOTENCY_KEY_IN_USE",
        409,
        "Another request with the same `Idempotency-Key` is in progress; retry shortly.",
    ),
    // 412
    c(
        "VERSION_MISMATCH",
        412,
        "`If-Match` names another version than the current one; GET the resource again.",
    ),
    // 413, 415
    c(
        "PAYLOAD_TOO_LARGE",
        413,
        "The body exceeds the limit of this route.",
    ),
    c(
        "TOO_MANY_ROWS",
        413,
        "An import file has more rows than this account may import at once (`max_rows`).",
    ),
    c(
        "UNSUPPORTED_MEDIA_TYPE",
        415,
        "The `Content-Type` is not accepted here (`accepted` lists what is).",
    ),
    c(
        "UNSUPPORTED_FILE_TYPE",
        415,
        "The uploaded import file is of a type the import does not read (`detected` names it).",
    ),
    c(
        "FORBIDDEN_FILE_TYPE",
        415,
        "The file's detected type is not accepted as evidence.",
    ),
    // 422
    c(
        "VALIDATION_FAILED",
        422,
        "Fields are invalid; `errors[]` gives each with a JSON pointer and a reason code.",
    ),
    c(
        "INVALID_BODY",
        422,
        "The body does not match the request schema; see `errors[]`.",
    ),
    c("INVALID_PATCH", 422, "A merge patch must be a JSON object."),
    c(
        "INVALID_INPUT",
        422,
        "The answer's inputs do not fit the component's method; see `errors[]`.",
    ),
    c(
        "INVALID_SET_DOCUMENT",
        422,
        "The set document is invalid; `errors[]` locates every problem.",
    ),
    c(
        "INCOMPLETE",
        422,
        "Components are unanswered or lack evidence (`errors[].field` is the component code).",
    ),
    c(
        "NOT_A_LEAF",
        422,
        "Evidence and answers belong to a scored component (a leaf), not to a group.",
    ),
    c(
        "NOT_IN_PERIOD",
        422,
        "The assessment belongs to another period.",
    ),
    c(
        "REFERENCE_NOT_FOUND",
        422,
        "A referenced resource does not exist.",
    ),
    c(
        "CONSTRAINT_VIOLATION",
        422,
        "The data breaks a rule of the data model.",
    ),
    c(
        "NOT_UTF8",
        422,
        "The import file is not UTF-8 text (`line` is the first line that is not).",
    ),
    c(
        "FILE_UNREADABLE",
        422,
        "The import file could not be read in its format.",
    ),
    c(
        "HEADER_MISMATCH",
        422,
        "The import file's header row does not have the expected columns; see `errors[]`.",
    ),
    c(
        "IMPORT_REFUSED",
        422,
        "Rows of the import are invalid, so nothing was imported; see `errors[]`.",
    ),
    c(
        "MERGED_CELLS",
        422,
        "The import workbook's header row has merged cells (`merged_cells` names them); \
         merged cells in data rows are row conflicts with the same code.",
    ),
    c("EMPTY_FILE", 422, "The uploaded file is empty."),
    c("FILE_REQUIRED", 422, "The request must carry a file."),
    c(
        "IDEMPOTENCY_KEY_REUSED",
        422,
        "The `Idempotency-Key` was used for another request; send a fresh UUID.",
    ),
    // 429
    c(
        "LOGIN_THROTTLED",
        429,
        "Too many failed logins; retry after `Retry-After` seconds.",
    ),
    // 5xx
    c(
        "INTERNAL_ERROR",
        500,
        "An internal error; it is logged with the request id.",
    ),
    c(
        "JOB_INTERRUPTED",
        503,
        "A job's `problem` when the process running it stopped (a restart, a crash): nothing of \
         it was stored; send the import again.",
    ),
    c(
        "DATABASE_UNAVAILABLE",
        503,
        "The database is unavailable; retry after `Retry-After` seconds.",
    ),
    c(
        "STORAGE_UNAVAILABLE",
        503,
        "The evidence store is unavailable; nothing changed; retry.",
    ),
    c(
        "SERVICE_BUSY",
        503,
        "Every database connection is busy; nothing was done; retry after `Retry-After` seconds.",
    ),
    c(
        "CONCURRENT_UPDATE",
        503,
        "A concurrent change conflicted and nothing was written; retry.",
    ),
];

/// The entry of `code`, if the catalogue lists it.
pub fn find(code: &str) -> Option<&'static ProblemCode> {
    CATALOGUE.iter().find(|p| p.code == code)
}

/// The codes answered with `status`.
pub fn with_status(status: u16) -> impl Iterator<Item = &'static ProblemCode> {
    CATALOGUE.iter().filter(move |p| p.status == status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_screaming_snake_and_described() {
        let mut seen = std::collections::HashSet::new();
        for p in CATALOGUE {
            assert!(seen.insert(p.code), "{} twice", p.code);
            assert!(
                p.code
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_'),
                "{}",
                p.code
            );
            assert!((400..600).contains(&p.status), "{}", p.code);
            assert!(p.description.ends_with('.'), "{}", p.code);
        }
    }

    /// Every code literal handed to an `AppError` constructor in the sources is listed.
    #[test]
    fn every_code_the_sources_emit_is_listed() {
        fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs")
                    // unit tests kept in a file of their own
                    && !path.ends_with("tests.rs")
                {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        rust_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 50);
        let mut missing = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // not the unit tests' own made-up codes
            let text = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            let file = file.display();
            for code in emitted_codes(text) {
                if find(&code).is_none() {
                    missing.push(format!("{file}: {code}"));
                }
            }
        }
        assert!(missing.is_empty(), "not in the catalogue: {missing:#?}");
    }

    /// Codes in `AppError::…("CODE"` / `StatusCode::…, "CODE"` calls.
    fn emitted_codes(text: &str) -> Vec<String> {
        const CALLS: [&str; 7] = [
            "new(",
            "bad_request(",
            "unauthorized(",
            "forbidden(",
            "conflict(",
            "unprocessable(",
            "AppError::new(",
        ];
        let mut out = Vec::new();
        for (i, _) in text.match_indices('"') {
            let rest = &text[i + 1..];
            let Some(end) = rest.find('"') else { continue };
            let lit = &rest[..end];
            if lit.len() < 3
                || !lit
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
            {
                continue;
            }
            let before = text[..i].trim_end();
            // `StatusCode::X, "CODE"`, also spelled with its path (`actix_web::http::StatusCode`)
            let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
            let before = before
                .strip_suffix(',')
                .and_then(|b| {
                    b.trim_end()
                        .trim_end_matches(ident)
                        .strip_suffix("StatusCode::")
                })
                .map(|mut b| {
                    while let Some(prefix) = b.strip_suffix("::") {
                        b = prefix.trim_end_matches(ident);
                    }
                    b.trim_end()
                })
                .unwrap_or(before);
            let is_call = CALLS.iter().any(|call| before.ends_with(call));
            // `FieldError::new("field", "CODE", …)` names field codes, not problem codes
            let field_error = text[..i]
                .rfind("FieldError::new(")
                .is_some_and(|at| !text[at..i].contains(';') && !text[at..i].contains(')'));
            let validator = before.ends_with("ValidationError::new(");
            if is_call && !field_error && !validator {
                out.push(lit.to_string());
            }
        }
        out
    }
}
