// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        kind -> Text,
        user_id -> Nullable<Text>,
        organisation_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        last_seq -> BigInt,
        last_hash -> Text,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_label -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<Text>,
        outcome -> Text,
        detail -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    municipalities (id) {
        id -> Text,
        name -> Text,
        phone -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        principal -> Text,
        municipality_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        created_at -> Timestamp,
        recipient -> Text,
        subject -> Text,
        message -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        title -> Text,
        phone -> Text,
        organisation_id -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        password_changed_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> organisations (organisation_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(organisations -> municipalities (municipality_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(users -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_head,
    audit_log,
    municipalities,
    organisations,
    outbox,
    sessions,
    user_roles,
    users,
);
