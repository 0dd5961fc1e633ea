// @generated automatically by Diesel CLI.
// From the migrations, with the options of diesel.toml; never edit it by hand. After a new
// migration: `diesel migration run --database-url <URL>` (it rewrites this file itself), or
// `diesel print-schema --database-url <URL> > src/db/schema.rs` for an already-migrated database.
// CI fails when it differs from what the migrations give (scripts/check_schema.sh).

diesel::table! {
    use diesel::sql_types::*;

    adjustments (id) {
        id -> Uuid,
        assessment_id -> Uuid,
        node_id -> Uuid,
        inputs -> Nullable<Json>,
        points -> Nullable<Numeric>,
        not_applicable -> Nullable<Bool>,
        reason -> Text,
        reviewer_id -> Nullable<Uuid>,
        lock_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    answers (id) {
        id -> Uuid,
        assessment_id -> Uuid,
        node_id -> Uuid,
        inputs -> Nullable<Json>,
        not_applicable -> Bool,
        note -> Nullable<Text>,
        explanation -> Nullable<Text>,
        lock_version -> Int4,
        updated_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        evidence_count -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    assessment_bases (assessment_id) {
        assessment_id -> Uuid,
        period_id -> Uuid,
        group_id -> Uuid,
        basis -> Text,
        stamp -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    assessment_scores (assessment_id) {
        assessment_id -> Uuid,
        max_points -> Numeric,
        applicable_max -> Numeric,
        self_points -> Numeric,
        reviewed_points -> Numeric,
        self_index -> Nullable<Numeric>,
        reviewed_index -> Nullable<Numeric>,
        finalised -> Bool,
        computed_at -> Timestamptz,
        period_id -> Uuid,
        group_id -> Uuid,
        unit_id -> Uuid,
        unit_code -> Text,
        scope_points -> Array<Nullable<Numeric>>,
        scope_max -> Array<Nullable<Numeric>>,
        scope_index -> Array<Nullable<Numeric>>,
        overall_key -> Nullable<Numeric>,
        ranked -> Bool,
        follow_seq -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    assessments (id) {
        id -> Uuid,
        period_id -> Uuid,
        unit_id -> Uuid,
        group_id -> Uuid,
        set_id -> Uuid,
        state -> Text,
        deadline -> Nullable<Timestamptz>,
        last_action -> Nullable<Text>,
        last_actor_id -> Nullable<Uuid>,
        last_action_at -> Nullable<Timestamptz>,
        last_reason -> Nullable<Text>,
        lock_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        unit_tags -> Array<Nullable<Text>>,
        submitted_at -> Nullable<Timestamptz>,
        submitted_by -> Nullable<Uuid>,
        submitted_on_behalf -> Bool,
        submission_reason -> Nullable<Text>,
        finalised_as -> Nullable<Text>,
        excluded_reason -> Nullable<Text>,
        excluded_by -> Nullable<Uuid>,
        excluded_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    audit_events (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        actor_role -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Text>,
        unit_id -> Nullable<Uuid>,
        period_id -> Nullable<Uuid>,
        old_value -> Nullable<Jsonb>,
        new_value -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    clarification_messages (id) {
        id -> Uuid,
        clarification_id -> Uuid,
        author_id -> Nullable<Uuid>,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    clarifications (id) {
        id -> Uuid,
        assessment_id -> Uuid,
        node_id -> Uuid,
        status -> Text,
        opened_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    deadline_notices (assessment_id, notice, deadline) {
        assessment_id -> Uuid,
        notice -> Text,
        deadline -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    evidence (id) {
        id -> Uuid,
        answer_id -> Uuid,
        kind -> Text,
        blob_sha256 -> Nullable<Text>,
        filename -> Nullable<Text>,
        url -> Nullable<Text>,
        doc_number -> Nullable<Text>,
        doc_date -> Nullable<Date>,
        doc_issuer -> Nullable<Text>,
        description -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    evidence_blobs (sha256) {
        sha256 -> Text,
        size_bytes -> Int8,
        content_type -> Text,
        storage_key -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    idempotency_keys (owner_id, key) {
        key -> Text,
        user_id -> Nullable<Uuid>,
        request_hash -> Text,
        response_status -> Int4,
        response_body -> Jsonb,
        created_at -> Timestamptz,
        token_id -> Nullable<Uuid>,
        owner_id -> Uuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    indicator_nodes (id) {
        id -> Uuid,
        set_id -> Uuid,
        code -> Text,
        parent_id -> Nullable<Uuid>,
        kind -> Text,
        name -> Text,
        position -> Int4,
        depth -> Int4,
        max_points -> Numeric,
        method -> Nullable<Text>,
        method_params -> Nullable<Jsonb>,
        evidence -> Text,
        automatic -> Bool,
        is_leaf -> Bool,
        replaces -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    indicator_pillar_members (pillar_id, node_id) {
        pillar_id -> Uuid,
        node_id -> Uuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    indicator_pillars (id) {
        id -> Uuid,
        set_id -> Uuid,
        code -> Text,
        name -> Text,
        position -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    indicator_sets (id) {
        id -> Uuid,
        code -> Text,
        version -> Int4,
        name -> Text,
        target_unit_kind -> Text,
        status -> Text,
        year -> Nullable<Int4>,
        decision_number -> Text,
        decision_date -> Nullable<Date>,
        issuer -> Text,
        scale -> Numeric,
        precision -> Int4,
        document -> Jsonb,
        source_document -> Text,
        source_format -> Text,
        based_on_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        activated_at -> Nullable<Timestamptz>,
        lock_version -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    integration_tokens (id) {
        id -> Uuid,
        name -> Text,
        token_hash -> Text,
        scopes -> Array<Nullable<Text>>,
        period_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    job_inputs (job_id, seq) {
        job_id -> Uuid,
        seq -> Int4,
        chunk -> Bytea,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    jobs (id) {
        id -> Uuid,
        kind -> Text,
        period_id -> Nullable<Uuid>,
        requested_by -> Uuid,
        requester_kind -> Text,
        state -> Text,
        phase -> Nullable<Text>,
        rows_done -> Int8,
        rows_total -> Nullable<Int8>,
        options -> Jsonb,
        input_format -> Text,
        input_bytes -> Int8,
        result -> Nullable<Jsonb>,
        problem -> Nullable<Jsonb>,
        cancel_requested -> Bool,
        worker -> Nullable<Text>,
        heartbeat_at -> Nullable<Timestamptz>,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    login_throttle (key) {
        key -> Text,
        failures -> Int4,
        locked_until -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    period_groups (period_id, group_id) {
        period_id -> Uuid,
        group_id -> Uuid,
        set_id -> Uuid,
        bases_version -> Nullable<Uuid>,
        layout -> Nullable<Text>,
        scores_version -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    period_phases (period_id, phase) {
        period_id -> Uuid,
        phase -> Text,
        opens_at -> Timestamptz,
        closes_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    periods (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        data_year -> Int4,
        phase -> Text,
        lock_version -> Int4,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    publications (id) {
        id -> Uuid,
        period_id -> Uuid,
        group_id -> Uuid,
        version -> Int4,
        visible_from -> Timestamptz,
        checksum -> Text,
        content -> Jsonb,
        changelog -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    ranking_group_members (group_id, unit_id) {
        group_id -> Uuid,
        unit_id -> Uuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    ranking_groups (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        unit_kind -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    relative_values (assessment_id, node_id) {
        assessment_id -> Uuid,
        node_id -> Uuid,
        period_id -> Uuid,
        group_id -> Uuid,
        self_value -> Nullable<Numeric>,
        reviewed_value -> Nullable<Numeric>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    score_follows (period_id, group_id) {
        period_id -> Uuid,
        group_id -> Uuid,
        seq -> Int8,
        positions -> Array<Nullable<Int4>>,
        assessment_ids -> Array<Nullable<Uuid>>,
        self_points -> Nullable<Array<Nullable<Numeric>>>,
        reviewed_points -> Array<Nullable<Numeric>>,
        self_index -> Nullable<Array<Nullable<Numeric>>>,
        reviewed_index -> Array<Nullable<Numeric>>,
        scope_points -> Array<Nullable<Text>>,
        scope_index -> Array<Nullable<Text>>,
        overall_key -> Array<Nullable<Numeric>>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    unit_lineage (predecessor_id, successor_id) {
        predecessor_id -> Uuid,
        successor_id -> Uuid,
        effective_date -> Nullable<Date>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    units (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        search_name -> Text,
        kind -> Text,
        parent_id -> Nullable<Uuid>,
        tags -> Array<Nullable<Text>>,
        active -> Bool,
        valid_from -> Nullable<Date>,
        valid_to -> Nullable<Date>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    users (id) {
        id -> Uuid,
        username -> Text,
        full_name -> Text,
        password_hash -> Text,
        role -> Text,
        unit_id -> Nullable<Uuid>,
        active -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        session_version -> Int4,
        seeded_password -> Bool,
        must_change_password -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    webhook_attempts (delivery_id, attempt) {
        delivery_id -> Uuid,
        attempt -> Int4,
        attempted_at -> Timestamptz,
        duration_ms -> Int4,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Text>,
        error -> Nullable<Text>,
        succeeded -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        redelivery_of -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    webhook_endpoints (id) {
        id -> Uuid,
        url -> Text,
        description -> Text,
        event_types -> Array<Nullable<Text>>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        enabled -> Bool,
        enabled_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Int4,
        failing_since -> Nullable<Timestamptz>,
        version -> Int4,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    webhook_events (id) {
        id -> Uuid,
        event_type -> Text,
        occurred_at -> Timestamptz,
        body -> Text,
        dispatched_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(adjustments -> assessments (assessment_id));
diesel::joinable!(adjustments -> indicator_nodes (node_id));
diesel::joinable!(adjustments -> users (reviewer_id));
diesel::joinable!(answers -> assessments (assessment_id));
diesel::joinable!(answers -> indicator_nodes (node_id));
diesel::joinable!(answers -> users (updated_by));
diesel::joinable!(assessment_bases -> assessments (assessment_id));
diesel::joinable!(assessment_bases -> periods (period_id));
diesel::joinable!(assessment_bases -> ranking_groups (group_id));
diesel::joinable!(assessment_scores -> assessments (assessment_id));
diesel::joinable!(assessment_scores -> periods (period_id));
diesel::joinable!(assessment_scores -> ranking_groups (group_id));
diesel::joinable!(assessment_scores -> units (unit_id));
diesel::joinable!(assessments -> indicator_sets (set_id));
diesel::joinable!(assessments -> periods (period_id));
diesel::joinable!(assessments -> ranking_groups (group_id));
diesel::joinable!(assessments -> units (unit_id));
diesel::joinable!(clarification_messages -> clarifications (clarification_id));
diesel::joinable!(clarification_messages -> users (author_id));
diesel::joinable!(clarifications -> assessments (assessment_id));
diesel::joinable!(clarifications -> indicator_nodes (node_id));
diesel::joinable!(clarifications -> users (opened_by));
diesel::joinable!(deadline_notices -> assessments (assessment_id));
diesel::joinable!(evidence -> answers (answer_id));
diesel::joinable!(evidence -> evidence_blobs (blob_sha256));
diesel::joinable!(evidence -> users (created_by));
diesel::joinable!(idempotency_keys -> integration_tokens (token_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(indicator_nodes -> indicator_sets (set_id));
diesel::joinable!(indicator_pillar_members -> indicator_nodes (node_id));
diesel::joinable!(indicator_pillar_members -> indicator_pillars (pillar_id));
diesel::joinable!(indicator_pillars -> indicator_sets (set_id));
diesel::joinable!(indicator_sets -> users (created_by));
diesel::joinable!(integration_tokens -> periods (period_id));
diesel::joinable!(integration_tokens -> users (created_by));
diesel::joinable!(job_inputs -> jobs (job_id));
diesel::joinable!(jobs -> periods (period_id));
diesel::joinable!(period_groups -> indicator_sets (set_id));
diesel::joinable!(period_groups -> periods (period_id));
diesel::joinable!(period_groups -> ranking_groups (group_id));
diesel::joinable!(period_phases -> periods (period_id));
diesel::joinable!(periods -> users (created_by));
diesel::joinable!(publications -> periods (period_id));
diesel::joinable!(publications -> ranking_groups (group_id));
diesel::joinable!(publications -> users (created_by));
diesel::joinable!(ranking_group_members -> ranking_groups (group_id));
diesel::joinable!(ranking_group_members -> units (unit_id));
diesel::joinable!(relative_values -> assessments (assessment_id));
diesel::joinable!(relative_values -> indicator_nodes (node_id));
diesel::joinable!(relative_values -> periods (period_id));
diesel::joinable!(relative_values -> ranking_groups (group_id));
diesel::joinable!(users -> units (unit_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_endpoints -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    adjustments,
    answers,
    assessment_bases,
    assessment_scores,
    assessments,
    audit_events,
    clarification_messages,
    clarifications,
    deadline_notices,
    evidence,
    evidence_blobs,
    idempotency_keys,
    indicator_nodes,
    indicator_pillar_members,
    indicator_pillars,
    indicator_sets,
    integration_tokens,
    job_inputs,
    jobs,
    login_throttle,
    period_groups,
    period_phases,
    periods,
    publications,
    ranking_group_members,
    ranking_groups,
    relative_values,
    score_follows,
    unit_lineage,
    units,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
);
