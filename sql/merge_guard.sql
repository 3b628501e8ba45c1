-- Scored pairs allowed to merge. Splink's probability is necessary, not sufficient: colleagues
-- share a company, a switchboard number and often a surname, and those correlated signals can
-- outvote a plain disagreement on first names. A pair merges only with personal evidence:
--   the same nominative e-mail (or a typo in its domain), the same LinkedIn profile, the same mobile
--   number, or first AND last names that agree (exact, typo-close, an initial, a nickname prefix,
--   a compound part, or swapped columns);
-- and never when the first names clearly disagree without a shared e-mail or profile (a nickname,
-- a typo, a title left in the first name), nor when both rows carry different nominative
-- addresses on the same domain (one company gives one person one address).
WITH pairs AS (
    SELECT
        p.row_number_l,
        p.row_number_r,
        p.match_probability,
        l.first_name_key AS fl, r.first_name_key AS fr,
        l.last_name_key AS ll, r.last_name_key AS lr,
        coalesce(
            l.email_nominative = r.email_nominative
            OR (split_part(l.email_nominative, '@', 1) = split_part(r.email_nominative, '@', 1)
                AND damerau_levenshtein(split_part(l.email_nominative, '@', 2), split_part(r.email_nominative, '@', 2)) <= 2),
            FALSE
        ) AS same_email,
        coalesce(
            split_part(l.email_nominative, '@', 1) <> split_part(r.email_nominative, '@', 1)
            AND split_part(l.email_nominative, '@', 2) = split_part(r.email_nominative, '@', 2),
            FALSE
        ) AS email_conflict,
        coalesce(l.linkedin_slug = r.linkedin_slug, FALSE) AS same_linkedin,
        coalesce(l.phone_mobile = r.phone_mobile, FALSE) AS same_mobile
    FROM predictions AS p
    JOIN contacts AS l ON l.row_number = p.row_number_l
    JOIN contacts AS r ON r.row_number = p.row_number_r
    WHERE p.match_probability >= $threshold
),
judged AS (
    SELECT
        *,
        coalesce(fl = lr AND ll = fr, FALSE) AS swapped,
        coalesce(
            fl = fr
            OR ((length(fl) = 1 OR length(fr) = 1) AND left(fl, 1) = left(fr, 1))
            OR (length(fl) >= 3 AND length(fr) >= 3 AND (starts_with(fl, fr) OR starts_with(fr, fl)))
            OR jaro_winkler_similarity(fl, fr) >= 0.88,
            FALSE
        ) AS first_agree,
        coalesce(
            ll = lr
            OR (length(ll) >= 4 AND length(lr) >= 4 AND (contains(ll, lr) OR contains(lr, ll)))
            OR jaro_winkler_similarity(ll, lr) >= 0.9,
            FALSE
        ) AS last_agree
    FROM pairs
)
SELECT row_number_l, row_number_r, match_probability
FROM judged
WHERE (swapped OR fl IS NULL OR fr IS NULL OR first_agree OR same_email OR same_linkedin)
  AND (NOT email_conflict OR same_linkedin)
  AND (same_email OR same_linkedin OR same_mobile OR swapped OR (first_agree AND last_agree))
