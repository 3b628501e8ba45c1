-- Linkage input: one row per validated contact, only the keys the model compares.
-- Generic mailboxes (contact@, info@...) are nulled: they are shared, so they are no evidence
-- that two rows are one person. The local part is kept only for professional domains, where
-- "jean.dupont@" on two domains of one company is evidence; on webmail it is not.
SELECT
    row_number,
    first_name_key,
    last_name_key,
    CASE WHEN email_qualification LIKE 'nominative@%' THEN email END AS email_nominative,
    CASE WHEN email_qualification = 'nominative@pro' THEN split_part(email, '@', 1) END AS email_local,
    phone_e164,
    -- A mobile number belongs to one person; a landline is often a switchboard.
    CASE WHEN phone_type = 'mobile' THEN phone_e164 END AS phone_mobile,
    company_key,
    company_domain,
    linkedin_slug
FROM enriched
ORDER BY row_number
