-- Mailbox signals matched to the controller's master records by address (issue #9).
-- Inputs: signals (one row per extracted signal), records (the master's records), known (the
-- history's event keys). One row per new event and matched record: a signal about an address
-- that no record holds is not kept (the client's mailbox knows people the client's list does not).
-- The same bounce seen in several messages, or twice in one mailbox, counts once per day.
WITH sig AS (
    SELECT
        lower(trim(address)) AS email,
        signal,
        status_code,
        observed_at,
        source_mailbox AS mailbox_id,
        lower(trim(replacement_email)) AS replacement_email,
        replacement_kind,
        language,
        left(observed_at, 10) AS observed_day
    FROM signals
    WHERE address IS NOT NULL AND signal IN ('hard_bounce', 'soft_bounce', 'departed')
),
one_per_day AS (
    SELECT *
    FROM sig
    QUALIFY row_number() OVER (
        PARTITION BY email, signal, observed_day, mailbox_id
        ORDER BY replacement_email NULLS LAST, observed_at, status_code NULLS LAST
    ) = 1
),
matched AS (
    SELECT
        md5(concat_ws('|', r.record_key, s.email, s.signal, s.observed_day, s.mailbox_id)) AS event_key,
        r.person_id,
        r.record_key,
        r.upload_id,
        r.row_number,
        r.first_name,
        r.last_name,
        r.company,
        s.email,
        s.signal,
        s.status_code,
        s.observed_at,
        s.mailbox_id,
        CASE WHEN s.replacement_email <> s.email THEN s.replacement_email END AS replacement_email,
        CASE WHEN s.replacement_email <> s.email THEN s.replacement_kind END AS replacement_kind,
        s.language
    FROM one_per_day AS s
    JOIN records AS r ON lower(r.email) = s.email
)
SELECT m.*
FROM matched AS m
ANTI JOIN known AS k ON k.event_key = m.event_key
ORDER BY m.person_id, m.record_key, m.observed_at, m.signal
