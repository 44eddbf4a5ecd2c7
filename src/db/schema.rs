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
        keyed -> Bool,
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
        municipality_id -> Nullable<Text>,
    }
}

diesel::table! {
    investigations (id) {
        id -> Text,
        report_id -> Text,
        municipality_id -> Text,
        opened_on -> Date,
        due_on -> Date,
        extended_at -> Nullable<Timestamp>,
        extended_by -> Nullable<Text>,
        extension_reason -> Nullable<Text>,
        child_id -> Text,
        closed_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    investigation_closings (investigation_id) {
        investigation_id -> Text,
        closed_at -> Timestamp,
        closed_by -> Text,
        closed_on -> Date,
        outcome -> Text,
        support -> Text,
        reason -> Text,
        due_on -> Date,
        days_late -> Integer,
    }
}

diesel::table! {
    investigation_extensions (id) {
        id -> Text,
        investigation_id -> Text,
        extended_at -> Timestamp,
        extended_by -> Text,
        previous_due_on -> Date,
        due_on -> Date,
        reason -> Text,
    }
}

diesel::table! {
    municipalities (id) {
        id -> Text,
        name -> Text,
        phone -> Text,
        created_at -> Timestamp,
        sip_first_meeting_days -> Integer,
        office_hours -> Nullable<Text>,
        socialjour_phone -> Text,
        socialjour_alert_email -> Text,
        intake_alert_email -> Text,
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
        municipality_id -> Nullable<Text>,
    }
}

diesel::table! {
    report_children (id) {
        id -> Text,
        report_id -> Text,
        position -> Integer,
        personal_number -> Nullable<Text>,
        name -> Text,
        birth_date -> Nullable<Date>,
        address -> Text,
        school -> Text,
        child_told -> Bool,
        not_told_reason -> Text,
        personal_number_index -> Nullable<Text>,
        added_at -> Nullable<Timestamp>,
        added_by -> Nullable<Text>,
    }
}

diesel::table! {
    report_guardians (id) {
        id -> Text,
        report_id -> Text,
        position -> Integer,
        name -> Text,
        phone -> Text,
        guardian_told -> Bool,
        not_told_reason -> Text,
    }
}

diesel::table! {
    report_decisions (child_id) {
        child_id -> Text,
        report_id -> Text,
        decided_at -> Timestamp,
        decided_by -> Text,
        decision -> Text,
        reason -> Text,
        late_reason -> Text,
        siblings_note -> Text,
        joined_investigation_id -> Nullable<Text>,
    }
}

diesel::table! {
    report_reporters (report_id) {
        report_id -> Text,
        name -> Text,
        title -> Text,
        organisation -> Text,
        phone -> Text,
        email -> Text,
    }
}

diesel::table! {
    reports (id) {
        id -> Text,
        reference -> Text,
        municipality_id -> Text,
        received_at -> Timestamp,
        reporter_kind -> Text,
        reporter_user_id -> Nullable<Text>,
        concern -> Text,
        categories -> Text,
        acute_danger -> Bool,
        police_informed -> Bool,
        interpreter_language -> Text,
        other_agencies -> Text,
        safety_due_at -> Timestamp,
        decision_due_on -> Date,
        acute -> Bool,
        someone_close -> Text,
    }
}

diesel::table! {
    safety_assessments (report_id) {
        report_id -> Text,
        assessed_at -> Timestamp,
        assessed_by -> Text,
        protection_needed -> Bool,
        notes -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        second_factor_at -> Nullable<Timestamp>,
        pending_totp_secret -> Nullable<Text>,
        sso_provider_id -> Nullable<Text>,
        sso_sid -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_attempts (id) {
        id -> Text,
        key -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
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
        totp_secret -> Nullable<Text>,
        totp_enabled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    calendar_feeds (user_id) {
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    plans (id) {
        id -> Text,
        sip_id -> Text,
        version -> Integer,
        meeting_id -> Text,
        needs -> Text,
        goals -> Text,
        measures -> Text,
        lead_organisation_id -> Text,
        follow_up_on -> Date,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    sips (id) {
        id -> Text,
        reference -> Text,
        municipality_id -> Text,
        child_name -> Text,
        child_personal_number -> Nullable<Text>,
        report_id -> Nullable<Text>,
        calling_organisation_id -> Text,
        responsible_user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        sip_id -> Text,
        given_by -> Text,
        relation -> Text,
        given_on -> Date,
        valid_until -> Nullable<Date>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        withdrawn_by -> Nullable<Text>,
    }
}

diesel::table! {
    consent_organisations (consent_id, organisation_id) {
        consent_id -> Text,
        organisation_id -> Text,
    }
}

diesel::table! {
    consent_outside_organisations (consent_id, name) {
        consent_id -> Text,
        name -> Text,
    }
}

diesel::table! {
    participants (id) {
        id -> Text,
        sip_id -> Text,
        user_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        name -> Text,
        email -> Text,
        required -> Bool,
        added_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
        relation -> Nullable<Text>,
        outside_organisation -> Nullable<Text>,
    }
}

diesel::table! {
    meetings (id) {
        id -> Text,
        sip_id -> Text,
        uid -> Text,
        sequence -> Integer,
        starts_at -> Timestamp,
        minutes -> Integer,
        place -> Text,
        video_url -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        reminder_sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invitees (meeting_id, participant_id) {
        meeting_id -> Text,
        participant_id -> Text,
        status -> Text,
        status_changed_at -> Nullable<Timestamp>,
        answered_sequence -> Integer,
        rsvp_token_hash -> Text,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_tokens -> organisations (organisation_id));
diesel::joinable!(investigations -> municipalities (municipality_id));
diesel::joinable!(investigations -> reports (report_id));
diesel::joinable!(investigations -> report_children (child_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(organisations -> municipalities (municipality_id));
diesel::joinable!(report_children -> reports (report_id));
diesel::joinable!(report_decisions -> reports (report_id));
diesel::joinable!(report_decisions -> report_children (child_id));
diesel::joinable!(investigation_extensions -> investigations (investigation_id));
diesel::joinable!(investigation_closings -> investigations (investigation_id));
diesel::joinable!(report_reporters -> reports (report_id));
diesel::joinable!(report_guardians -> reports (report_id));
diesel::joinable!(reports -> municipalities (municipality_id));
diesel::joinable!(reports -> users (reporter_user_id));
diesel::joinable!(safety_assessments -> reports (report_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(users -> organisations (organisation_id));

diesel::joinable!(sips -> municipalities (municipality_id));
diesel::joinable!(calendar_feeds -> users (user_id));
diesel::joinable!(consents -> sips (sip_id));
diesel::joinable!(consent_organisations -> consents (consent_id));
diesel::joinable!(consent_outside_organisations -> consents (consent_id));
diesel::joinable!(participants -> sips (sip_id));
diesel::joinable!(meetings -> sips (sip_id));
diesel::joinable!(invitees -> meetings (meeting_id));
diesel::joinable!(invitees -> participants (participant_id));

diesel::table! {
    working_hours (user_id) {
        user_id -> Text,
        days -> Integer,
        start_minute -> Integer,
        end_minute -> Integer,
    }
}
diesel::table! {
    busy_sources (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        url -> Nullable<Text>,
        label -> Text,
        etag -> Nullable<Text>,
        last_modified -> Nullable<Text>,
        created_at -> Timestamp,
        checked_at -> Nullable<Timestamp>,
        fetched_at -> Nullable<Timestamp>,
        error -> Nullable<Text>,
    }
}
diesel::table! {
    busy_times (source_id, starts_at) {
        source_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
    }
}
diesel::joinable!(working_hours -> users (user_id));
diesel::joinable!(busy_sources -> users (user_id));
diesel::joinable!(busy_times -> busy_sources (source_id));

diesel::table! {
    intake_queue (report_id) {
        report_id -> Text,
        municipality_id -> Text,
        due_at -> Timestamp,
        received_at -> Timestamp,
        acute -> Bool,
    }
}
diesel::joinable!(intake_queue -> reports (report_id));

diesel::table! {
    report_feedback (report_id) {
        report_id -> Text,
        due_on -> Nullable<Date>,
        outbox_id -> Nullable<Text>,
    }
}
diesel::joinable!(report_feedback -> reports (report_id));

diesel::table! {
    retention_rules (municipality_id, law_version) {
        municipality_id -> Text,
        law_version -> Text,
        months -> Integer,
    }
}

diesel::table! {
    consultations (id) {
        id -> Text,
        reference -> Text,
        municipality_id -> Text,
        asked_by -> Text,
        asked_at -> Timestamp,
        situation -> Text,
        child_age -> Integer,
        unit -> Text,
        answer -> Nullable<Text>,
        should_report -> Nullable<Bool>,
        answered_at -> Nullable<Timestamp>,
        answered_by -> Nullable<Text>,
        report_id -> Nullable<Text>,
        converted_at -> Nullable<Timestamp>,
    }
}
diesel::joinable!(consultations -> municipalities (municipality_id));

diesel::table! {
    journal_entries (id) {
        id -> Text,
        municipality_id -> Text,
        report_id -> Text,
        child_id -> Text,
        investigation_id -> Nullable<Text>,
        kind -> Text,
        happened_at -> Timestamp,
        participants -> Text,
        text -> Text,
        author_id -> Text,
        author_name -> Text,
        author_title -> Text,
        written_at -> Timestamp,
        signed_at -> Nullable<Timestamp>,
        corrects_id -> Nullable<Text>,
        after_closing -> Bool,
    }
}

diesel::table! {
    information_requests (id) {
        id -> Text,
        reference -> Text,
        investigation_id -> Text,
        municipality_id -> Text,
        organisation_id -> Text,
        sent_by -> Text,
        sent_at -> Timestamp,
        due_on -> Date,
        questions -> Text,
        legal_basis -> Text,
        first_read_at -> Nullable<Timestamp>,
        replied_at -> Nullable<Timestamp>,
        replied_by -> Nullable<Text>,
        reply -> Nullable<Text>,
        declined -> Bool,
        reminded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    information_request_recipients (request_id, user_id) {
        request_id -> Text,
        user_id -> Text,
    }
}
diesel::table! {
    information_request_files (id) {
        id -> Text,
        request_id -> Text,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        content -> Text,
        uploaded_by -> Text,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    information_request_extensions (id) {
        id -> Text,
        request_id -> Text,
        asked_by -> Text,
        asked_at -> Timestamp,
        reason -> Text,
        wished_on -> Nullable<Date>,
        granted_by -> Nullable<Text>,
        granted_at -> Nullable<Timestamp>,
        granted_on -> Nullable<Date>,
    }
}

diesel::table! {
    information_request_filings (request_id) {
        request_id -> Text,
        journal_entry_id -> Text,
    }
}
diesel::joinable!(information_request_files -> information_requests (request_id));
diesel::joinable!(information_request_extensions -> information_requests (request_id));
diesel::joinable!(information_request_filings -> information_requests (request_id));
diesel::joinable!(information_request_filings -> journal_entries (journal_entry_id));
diesel::joinable!(information_requests -> investigations (investigation_id));
diesel::joinable!(information_request_recipients -> information_requests (request_id));
diesel::joinable!(information_request_recipients -> users (user_id));

diesel::table! {
    investigation_assignments (investigation_id) {
        investigation_id -> Text,
        user_id -> Text,
        assigned_by -> Text,
        assigned_at -> Timestamp,
    }
}
diesel::joinable!(investigation_assignments -> investigations (investigation_id));

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        municipality_id -> Text,
        url -> Text,
        secret -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        municipality_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
    }
}
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

diesel::table! {
    report_handovers (child_id) {
        child_id -> Text,
        report_id -> Text,
        registration_number -> Text,
        handed_over_at -> Timestamp,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}
diesel::joinable!(report_handovers -> reports (report_id));

diesel::table! {
    identity_providers (id) {
        id -> Text,
        name -> Text,
        municipality_id -> Text,
        organisation_id -> Nullable<Text>,
        issuer -> Text,
        client_id -> Text,
        client_secret_env -> Text,
        mfa_acr -> Text,
        claim -> Text,
        create_users -> Text,
        email_domain -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_identities (issuer, subject) {
        issuer -> Text,
        subject -> Text,
        user_id -> Text,
        provider_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    provider_user_values (provider_id, claim_value) {
        provider_id -> Text,
        claim_value -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    sso_logins (state_hash) {
        state_hash -> Text,
        provider_id -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        next -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sso_required (organisation_id) {
        organisation_id -> Text,
    }
}

diesel::table! {
    last_sign_ins (user_id) {
        user_id -> Text,
        provider_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::joinable!(user_identities -> users (user_id));
diesel::joinable!(user_identities -> identity_providers (provider_id));
diesel::joinable!(identity_providers -> municipalities (municipality_id));
diesel::joinable!(last_sign_ins -> users (user_id));

diesel::table! {
    statistics_received (municipality_id, month, reporter_key, categories) {
        municipality_id -> Text,
        month -> Text,
        reporter_key -> Text,
        categories -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    statistics_safety (municipality_id, month) {
        municipality_id -> Text,
        month -> Text,
        assessed -> BigInt,
        in_time -> BigInt,
    }
}

diesel::table! {
    statistics_decisions (municipality_id, month, days, decision) {
        municipality_id -> Text,
        month -> Text,
        days -> BigInt,
        decision -> Text,
        n -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    statistics_received,
    statistics_safety,
    statistics_decisions,
    identity_providers,
    user_identities,
    provider_user_values,
    sso_logins,
    sso_required,
    last_sign_ins,
    webhook_endpoints,
    webhook_deliveries,
    report_handovers,
    investigation_assignments,
    journal_entries,
    retention_rules,
    information_requests,
    information_request_recipients,
    information_request_files,
    information_request_extensions,
    information_request_filings,
    recovery_codes,
    intake_queue,
    working_hours,
    busy_sources,
    busy_times,
    plans,
    calendar_feeds,
    consultations,
    api_tokens,
    audit_head,
    audit_log,
    consent_organisations,
    consent_outside_organisations,
    consents,
    investigations,
    investigation_closings,
    investigation_extensions,
    invitees,
    meetings,
    municipalities,
    organisations,
    outbox,
    participants,
    report_children,
    report_decisions,
    report_feedback,
    report_guardians,
    report_reporters,
    reports,
    safety_assessments,
    sessions,
    sips,
    user_roles,
    users,
);
