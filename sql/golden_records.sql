-- Golden records: one per cluster (a contact that matched nothing is a cluster of one).
-- Rule, documented in README: the master is the most complete row of the cluster (most filled
-- fields), ties going to the earliest row in the file. Each field takes the master's value; where
-- the master has none, the value of the next most complete row that has one. E-mail and phone
-- travel with their qualification and type. No value is lost: every other e-mail and phone of the
-- cluster is listed in other_emails / other_phones, and source_rows lists the rows merged.
WITH scored AS (
    SELECT
        *,
        (first_name IS NOT NULL)::INT + (last_name IS NOT NULL)::INT + (email IS NOT NULL)::INT
        + (phone_e164 IS NOT NULL)::INT + (company IS NOT NULL)::INT + (website IS NOT NULL)::INT
        + (linkedin_url IS NOT NULL)::INT + (job_title IS NOT NULL)::INT + (country IS NOT NULL)::INT
        + (civility IS NOT NULL)::INT AS completeness
    FROM linked
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY cluster_id ORDER BY completeness DESC, row_number) AS rank
    FROM scored
),
phones AS (
    SELECT cluster_id, phone AS phone
    FROM ranked, unnest(string_split(coalesce(phone_e164, '') || ';' || coalesce(other_phones, ''), ';')) AS t(phone)
    WHERE phone <> ''
),
golden AS (
    SELECT
        cluster_id,
        arg_min(row_number, rank) AS master_row_number,
        string_agg(row_number::VARCHAR, ';' ORDER BY row_number) AS source_rows,
        count(*) AS record_count,
        max(match_probability) AS match_probability,
        arg_min(civility, rank) FILTER (WHERE civility IS NOT NULL) AS civility,
        arg_min(first_name, rank) FILTER (WHERE first_name IS NOT NULL) AS first_name,
        arg_min(last_name, rank) FILTER (WHERE last_name IS NOT NULL) AS last_name,
        arg_min({'v': email, 'q': email_qualification}, rank) FILTER (WHERE email IS NOT NULL) AS email_pair,
        arg_min({'v': phone_e164, 't': phone_type}, rank) FILTER (WHERE phone_e164 IS NOT NULL) AS phone_pair,
        arg_min({'v': company, 'f': legal_form}, rank) FILTER (WHERE company IS NOT NULL) AS company_pair,
        arg_min(website, rank) FILTER (WHERE website IS NOT NULL) AS website,
        arg_min(linkedin_url, rank) FILTER (WHERE linkedin_url IS NOT NULL) AS linkedin_url,
        arg_min(job_title, rank) FILTER (WHERE job_title IS NOT NULL) AS job_title,
        arg_min(country, rank) FILTER (WHERE country IS NOT NULL) AS country,
        list(DISTINCT email) FILTER (WHERE email IS NOT NULL) AS all_emails
    FROM ranked
    GROUP BY cluster_id
),
all_phones AS (
    SELECT cluster_id, list(DISTINCT phone) AS all_phones FROM phones GROUP BY cluster_id
)
SELECT
    g.cluster_id,
    g.master_row_number,
    g.source_rows,
    g.record_count,
    g.match_probability,
    g.civility,
    g.first_name,
    g.last_name,
    g.email_pair.v AS email,
    g.email_pair.q AS email_qualification,
    g.phone_pair.v AS phone_e164,
    g.phone_pair.t AS phone_type,
    g.company_pair.v AS company,
    g.company_pair.f AS legal_form,
    g.website,
    g.linkedin_url,
    g.job_title,
    g.country,
    nullif(array_to_string(list_sort(list_filter(g.all_emails, lambda e: e <> g.email_pair.v)), ';'), '') AS other_emails,
    nullif(array_to_string(list_sort(list_filter(p.all_phones, lambda x: x <> coalesce(g.phone_pair.v, ''))), ';'), '') AS other_phones
FROM golden AS g
LEFT JOIN all_phones AS p USING (cluster_id)
ORDER BY g.master_row_number
