-- Linkage input: one row per validated contact, only the keys the model compares.
-- Generic mailboxes (contact@, info@...) are nulled: they are shared, so they are no evidence
-- that two rows are one person. The local part is kept only for professional domains, where
-- "jean.dupont@" on two domains of one company is evidence; on webmail it is not.
SELECT
    e.uid,
    e.first_name_key,
    -- "bob" and "robert" compare as one first name; the key itself when it is no nickname.
    coalesce(n.canon, e.first_name_key) AS first_name_canon,
    e.last_name_key,
    e.is_new,
    -- "García López" may be typed "García": only then may one surname contain the other.
    regexp_matches(e.last_name, '[ -]') AS last_name_compound,
    CASE WHEN email_qualification LIKE 'nominative@%' THEN email END AS email_nominative,
    CASE WHEN email_qualification = 'nominative@pro' THEN split_part(email, '@', 1) END AS email_local,
    -- A typo in a company domain is a typo; gmx.de and gmx.net are two mailboxes.
    CASE WHEN email_qualification = 'nominative@pro' THEN email END AS email_pro,
    phone_e164,
    -- A mobile number belongs to one person; a landline is often a switchboard.
    CASE WHEN phone_type = 'mobile' THEN phone_e164 END AS phone_mobile,
    company_key,
    company_domain,
    linkedin_slug,
    -- The job title as typed, case and accents aside: two namesakes at one company rarely hold
    -- the same role, and one person's copies mostly carry the same title.
    nullif(lower(strip_accents(trim(job_title))), '') AS job_title_key,
    -- Person details (B2C lists, members, donors): compared only when the file has them
    -- (linkage_model.fields_present). Dates are ISO already (pipelines/standardise).
    nullif(trim(date_of_birth), '') AS date_of_birth,
    -- "12 bis" and "12": the number without its suffix; the street as standardised (street
    -- types abbreviated one way), case and accents aside.
    nullif(regexp_extract(lower(trim(street_number)), '[0-9]+'), '') AS street_number_key,
    nullif(lower(strip_accents(trim(street))), '') AS street_key,
    nullif(upper(replace(trim(postcode), ' ', '')), '') AS postcode_key,
    nullif(lower(strip_accents(trim(city))), '') AS city_key,
    nullif(lower(regexp_replace(trim(national_id), '[^0-9A-Za-z]', '', 'g')), '') AS national_id_key,
    nullif(lower(trim(client_id)), '') AS client_id_key,
    -- The local part of any nominative address (webmail too): "j.doe" against "john.doe" on one
    -- domain is an alias, "jhon.doe" a typo.
    CASE WHEN email_qualification LIKE 'nominative@%' THEN split_part(email, '@', 1) END AS email_user,
    -- Its parts, once per row rather than once per scored pair (the model's e-mail levels):
    -- the domain, whether it holds a digit, the part after the last separator ("doe" in
    -- "j.doe") and the length of the part before the first one.
    CASE WHEN email_qualification LIKE 'nominative@%' THEN split_part(email, '@', 2) END AS email_user_domain,
    CASE WHEN email_qualification LIKE 'nominative@%' THEN regexp_matches(split_part(email, '@', 1), '[0-9]') END
        AS email_user_digit,
    CASE WHEN email_qualification LIKE 'nominative@%' AND regexp_matches(split_part(email, '@', 1), '[._-]')
        THEN regexp_extract(split_part(email, '@', 1), '[^._-]+$') END AS email_user_last,
    CASE WHEN email_qualification LIKE 'nominative@%'
        THEN length(regexp_extract(split_part(email, '@', 1), '^[^._-]+')) END AS email_user_first_len
FROM enriched AS e
LEFT JOIN nicknames AS n ON n.nick = e.first_name_key
ORDER BY e.uid
