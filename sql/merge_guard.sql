-- Judges pairs of contacts (table pairs_to_judge): is there personal evidence that they are one
-- person, and is there a hard conflict that says they are two? Splink's probability is
-- necessary, not sufficient: colleagues share a company, a switchboard number and often a
-- surname, and those correlated signals can outvote a plain disagreement on first names.
-- Personal evidence is either
--   an identifier: the same nominative e-mail (or a typo in its domain), the same LinkedIn
--   profile, the same mobile number (any merging probability), or
--   names: first AND last names that agree (exact, typo-close, an initial, a nickname prefix,
--   a compound part, a nickname, or swapped columns) where the rows do not name two different
--   companies, the name is not known to be two people at that company and no two mobiles say
--   so; or a surname without first name that only one person carries at that company. Names
--   count from a probability set by the job titles (same, also across languages by the job
--   classifier; unknown; different) and by the company's size (see names_threshold below);
--   names with a doubt, and one name under two company names, count only with one title;
-- and a pair never merges when the first names clearly disagree without a shared e-mail,
-- profile, or mobile and surname (a nickname, a typo, a title left in the first name), nor when
-- both rows carry different nominative addresses on the same domain (one company gives one person
-- one address).
WITH company_mail_domains AS (
    -- The domain a company mails from: three people or more there. (A personal address with a
    -- typo in its domain, "free.ff", can be taken for a professional one.)
    SELECT company_key, split_part(email_pro, '@', 2) AS domain
    FROM contacts
    WHERE email_pro IS NOT NULL AND company_key IS NOT NULL
    GROUP BY ALL
    HAVING count(DISTINCT email_local) >= 3
),
company_addresses AS (
    SELECT c.first_name_canon, c.last_name_key, c.company_key, c.email_local, d.domain
    FROM contacts AS c
    JOIN company_mail_domains AS d ON d.company_key = c.company_key AND d.domain = split_part(c.email_pro, '@', 2)
    WHERE c.first_name_canon IS NOT NULL AND c.last_name_key IS NOT NULL
),
numbered_for_another AS (
    -- a.nowak2@ given to Andrzej Nowak because Anna Nowak has a.nowak@: numbered for another
    -- first name, which says nothing about a second Andrzej.
    SELECT DISTINCT n.first_name_canon, n.last_name_key, n.company_key
    FROM company_addresses AS n
    JOIN company_addresses AS o
        ON o.company_key = n.company_key AND o.domain = n.domain
        AND o.email_local = regexp_replace(n.email_local, '[2-9]$', '')
    WHERE regexp_matches(n.email_local, '[a-z][2-9]$')
    GROUP BY ALL
    HAVING NOT bool_or(o.first_name_canon = n.first_name_canon)
),
namesakes AS (
    -- Names within one company known to be two people or more: two addresses on the company's
    -- mail domain (jean.martin@ and jmartin@), an address numbered for a homonym (jean.martin2@,
    -- unless the address without the number belongs to another first name), or two LinkedIn
    -- profiles. There a shared name says nothing about which of them a row is.
    SELECT first_name_canon, last_name_key, company_key
    FROM company_addresses
    GROUP BY ALL
    HAVING count(DISTINCT email_local) > 1
        OR bool_or(regexp_matches(email_local, '[a-z][2-9]$'))
    EXCEPT
    SELECT first_name_canon, last_name_key, company_key
    FROM numbered_for_another
    UNION
    SELECT first_name_canon, last_name_key, company_key
    FROM contacts
    WHERE first_name_canon IS NOT NULL AND last_name_key IS NOT NULL AND company_key IS NOT NULL
    GROUP BY ALL
    HAVING count(DISTINCT linkedin_slug) > 1
),
company_sizes AS (
    SELECT company_key, count(*) AS company_rows FROM contacts WHERE company_key IS NOT NULL GROUP BY ALL
),
sole_surnames AS (
    -- Surnames that one first name at most goes with at a company (initials aside): there a row
    -- without first name can only be that person.
    SELECT last_name_key, company_key
    FROM contacts
    WHERE last_name_key IS NOT NULL AND company_key IS NOT NULL
    GROUP BY ALL
    HAVING count(DISTINCT first_name_canon) FILTER (WHERE length(first_name_canon) >= 2) <= 1
),
pairs AS (
    SELECT
        p.uid_l,
        p.uid_r,
        p.match_probability,
        l.first_name_key AS fl, r.first_name_key AS fr,
        coalesce(l.first_name_canon = r.first_name_canon, FALSE) AS same_canon,
        l.last_name_key AS ll, r.last_name_key AS lr,
        coalesce(l.last_name_compound OR r.last_name_compound, FALSE) AS compound,
        -- the same address, or its local part with a typo in the domain ("ysisece.be",
        -- "otlook.de"); short local parts ("jan@") are not personal enough for that
        coalesce(
            l.email_nominative = r.email_nominative
            OR (split_part(l.email_pro, '@', 1) = split_part(r.email_pro, '@', 1)
                AND damerau_levenshtein(split_part(l.email_pro, '@', 2), split_part(r.email_pro, '@', 2)) <= 2),
            FALSE
        ) AS same_email,
        -- Two addresses on one domain are two people, unless one is the other with a slip
        -- ("sam.piins@" / "sam.prins@") or an alias ("j.doe@" / "john.doe@"), as the model's
        -- e-mail levels say (pipelines/linkage_model.py).
        coalesce(
            split_part(l.email_nominative, '@', 1) <> split_part(r.email_nominative, '@', 1)
            AND split_part(l.email_nominative, '@', 2) = split_part(r.email_nominative, '@', 2)
            -- (a number is no slip: "sylvie.bertrand2@" is numbered for a namesake; nor is another
            -- initial: "pmartin@" and "jmartin@" are colleagues, and taking them for one slip cost
            -- pairwise P 0.9983 -> 0.9975 on the generated 100k file)
            -- A slip only where the surnames are the same: "jcook@" / "jcooke@" for John Cook and
            -- John Cooke mirror two names (2 false pairs of the generated 100k file without this).
            AND NOT (least(length(l.email_user), length(r.email_user)) >= 5
                     AND coalesce(l.last_name_key = r.last_name_key, FALSE)
                     AND left(l.email_user, 1) = left(r.email_user, 1)
                     AND NOT regexp_matches(l.email_user || r.email_user, '[0-9]')
                     AND damerau_levenshtein(l.email_user, r.email_user) <= 1)
            AND NOT (regexp_matches(l.email_user, '[._-]') AND regexp_matches(r.email_user, '[._-]')
                     AND regexp_extract(l.email_user, '[^._-]+$') = regexp_extract(r.email_user, '[^._-]+$')
                     AND length(regexp_extract(l.email_user, '[^._-]+$')) >= 3
                     AND left(l.email_user, 1) = left(r.email_user, 1)
                     AND (length(regexp_extract(l.email_user, '^[^._-]+')) = 1
                          OR length(regexp_extract(r.email_user, '^[^._-]+')) = 1)),
            FALSE
        ) AS email_conflict,
        -- Person details (issue 14). A date of birth agrees up to the model's typo levels
        -- (exact, day and month swapped, one digit off).
        coalesce(
            l.date_of_birth = r.date_of_birth
            OR (left(l.date_of_birth, 4) = left(r.date_of_birth, 4)
                AND substr(l.date_of_birth, 6, 2) = substr(r.date_of_birth, 9, 2)
                AND substr(l.date_of_birth, 9, 2) = substr(r.date_of_birth, 6, 2))
            OR damerau_levenshtein(l.date_of_birth, r.date_of_birth) <= 1,
            FALSE
        ) AS dob_agree,
        l.date_of_birth IS NOT NULL AND r.date_of_birth IS NOT NULL AS both_dob,
        coalesce(l.national_id_key = r.national_id_key, FALSE) AS same_national_id,
        coalesce(l.national_id_key = r.national_id_key
                 OR (least(length(l.national_id_key), length(r.national_id_key)) >= 5
                     AND damerau_levenshtein(l.national_id_key, r.national_id_key) <= 1), FALSE) AS national_id_agree,
        l.national_id_key IS NOT NULL AND r.national_id_key IS NOT NULL AS both_national_id,
        coalesce(l.client_id_key = r.client_id_key, FALSE) AS same_client_id,
        -- the same number on a close street, postcodes not different ("12 bis rue de la Paix" /
        -- "12 rue de la paix")
        coalesce(l.street_number_key = r.street_number_key
                 AND jaro_winkler_similarity(l.street_key, r.street_key) >= 0.9
                 AND coalesce(l.postcode_key = r.postcode_key, TRUE), FALSE) AS same_address,
        coalesce(l.linkedin_slug = r.linkedin_slug, FALSE) AS same_linkedin,
        -- one person has one LinkedIn profile
        coalesce(l.linkedin_slug <> r.linkedin_slug, FALSE) AS linkedin_conflict,
        coalesce(l.phone_mobile = r.phone_mobile, FALSE) AS same_mobile,
        -- (not a number Excel rounded: "+33689100000" is "6.891E+08" read back)
        coalesce(l.phone_mobile <> r.phone_mobile
                 AND NOT ends_with(l.phone_mobile, '0000') AND NOT ends_with(r.phone_mobile, '0000'), FALSE) AS other_mobile,
        l.company_key AS cl, r.company_key AS cr,
        CASE
            WHEN l.job_title_key IS NULL OR r.job_title_key IS NULL THEN NULL
            -- a typo, an abbreviation or a word added ("Directeur commercial France")
            ELSE l.job_title_key = r.job_title_key OR jaro_winkler_similarity(l.job_title_key, r.job_title_key) >= 0.85
                -- one role in two languages ("Directeur commercial" / "Sales Director")
                OR coalesce(jl.job_function = jr.job_function AND jl.job_level = jr.job_level, FALSE)
        END AS same_role,
        coalesce(l.company_domain = r.company_domain, FALSE) AS same_domain,
        nl.company_key IS NOT NULL OR nr.company_key IS NOT NULL AS namesakes,
        sl.company_key IS NOT NULL AND sr.company_key IS NOT NULL AS sole_surname,
        greatest(coalesce(zl.company_rows, 0), coalesce(zr.company_rows, 0)) AS company_rows
    FROM pairs_to_judge AS p
    JOIN contacts AS l ON l.uid = p.uid_l
    JOIN contacts AS r ON r.uid = p.uid_r
    LEFT JOIN namesakes AS nl
        ON nl.first_name_canon = l.first_name_canon AND nl.last_name_key = l.last_name_key AND nl.company_key = l.company_key
    LEFT JOIN namesakes AS nr
        ON nr.first_name_canon = r.first_name_canon AND nr.last_name_key = r.last_name_key AND nr.company_key = r.company_key
    LEFT JOIN sole_surnames AS sl ON sl.last_name_key = l.last_name_key AND sl.company_key = l.company_key
    LEFT JOIN sole_surnames AS sr ON sr.last_name_key = r.last_name_key AND sr.company_key = r.company_key
    LEFT JOIN job_roles AS jl ON jl.job_title_key = l.job_title_key
    LEFT JOIN job_roles AS jr ON jr.job_title_key = r.job_title_key
    LEFT JOIN company_sizes AS zl ON zl.company_key = l.company_key
    LEFT JOIN company_sizes AS zr ON zr.company_key = r.company_key
),
companies AS (
    SELECT
        *,
        -- One company typed two ways: a typo ("lexys" / "leyxs"), a legal form left in the name
        -- ("verpharm hog", "gmbh schreinerei muller"), a space ("groupe lemarechal"). Not
        -- Jaro-Winkler: it rewards a shared prefix, and "compagnie adam" / "compagnie thomas" or
        -- "groupe claes" / "groupe maes" are two companies.
        coalesce(
            cl = cr
            OR replace(cl, ' ', '') = replace(cr, ' ', '')
            OR (least(length(cl), length(cr)) >= 6 AND damerau_levenshtein(cl, cr) <= 1)
            OR (least(length(cl), length(cr)) >= 15 AND damerau_levenshtein(cl, cr) <= 2)
            OR (least(length(cl), length(cr)) >= 4
                AND (starts_with(cl, cr || ' ') OR starts_with(cr, cl || ' ')
                     OR ends_with(cl, ' ' || cr) OR ends_with(cr, ' ' || cl)))
            -- the last word cut short: "amtis sol" / "amtis solutions", "thomas assoc" / "thomas
            -- associes" (three letters or more left, three or more cut)
            OR (contains(cl, ' ') AND contains(cr, ' ')
                AND regexp_replace(cl, ' [^ ]+$', '') = regexp_replace(cr, ' [^ ]+$', '')
                AND length(regexp_extract(cl, '[^ ]+$')) >= 3 AND length(regexp_extract(cr, '[^ ]+$')) >= 3
                AND ((starts_with(regexp_extract(cr, '[^ ]+$'), regexp_extract(cl, '[^ ]+$'))
                      AND length(regexp_extract(cr, '[^ ]+$')) >= length(regexp_extract(cl, '[^ ]+$')) + 3)
                     OR (starts_with(regexp_extract(cl, '[^ ]+$'), regexp_extract(cr, '[^ ]+$'))
                      AND length(regexp_extract(cl, '[^ ]+$')) >= length(regexp_extract(cr, '[^ ]+$')) + 3))),
            FALSE
        ) AS similar_company
    FROM pairs
),
judged AS (
    SELECT
        *,
        same_domain OR similar_company AS same_company,
        -- both rows name a company and they are not the same one (by name or by domain)
        cl IS NOT NULL AND cr IS NOT NULL AND NOT (same_domain OR similar_company) AS other_company,
        -- first and last names typed into each other's columns; one of them may be an initial
        coalesce(
            (jaro_winkler_similarity(fl, lr) >= 0.9 OR ((length(fl) = 1 OR length(lr) = 1) AND left(fl, 1) = left(lr, 1)))
            AND (jaro_winkler_similarity(ll, fr) >= 0.9 OR ((length(ll) = 1 OR length(fr) = 1) AND left(ll, 1) = left(fr, 1)))
            AND ((jaro_winkler_similarity(fl, lr) >= 0.9 AND least(length(fl), length(lr)) >= 2)
                 OR (jaro_winkler_similarity(ll, fr) >= 0.9 AND least(length(ll), length(fr)) >= 2)),
            FALSE
        ) AS swapped,
        coalesce(
            fl = fr
            OR same_canon
            OR ((length(fl) = 1 OR length(fr) = 1) AND left(fl, 1) = left(fr, 1))
            -- the initials of a compound first name: "mc" for Marie-Christine, "hj" for Hans-Jürgen
            OR (length(fl) = 2 AND length(fr) >= 4 AND left(fl, 1) = left(fr, 1) AND contains(substr(fr, 3), right(fl, 1)))
            OR (length(fr) = 2 AND length(fl) >= 4 AND left(fr, 1) = left(fl, 1) AND contains(substr(fl, 3), right(fr, 1)))
            OR (length(fl) >= 3 AND length(fr) >= 3 AND (starts_with(fl, fr) OR starts_with(fr, fl)))
            -- a title glued to the first name: "drdidier", "prgabriele"
            OR (length(fl) >= 5 AND regexp_matches(fl, '^(dr|pr)') AND substr(fl, 3) = fr)
            OR (length(fr) >= 5 AND regexp_matches(fr, '^(dr|pr)') AND substr(fr, 3) = fl)
            -- one keystroke apart ("rsbecca", "pieere") in a name of five letters or more
            OR (least(length(fl), length(fr)) >= 5 AND damerau_levenshtein(fl, fr) <= 1)
            -- or in a shorter one ("tneo", "alj") when the job titles agree as well
            OR (least(length(fl), length(fr)) >= 3 AND damerau_levenshtein(fl, fr) <= 1 AND coalesce(same_role, FALSE))
            OR jaro_winkler_similarity(fl, fr) >= 0.88,
            FALSE
        ) AS first_agree,
        coalesce(
            ll = lr
            OR (compound AND length(ll) >= 4 AND length(lr) >= 4 AND (contains(ll, lr) OR contains(lr, ll)))
            OR jaro_winkler_similarity(ll, lr) >= 0.9,
            FALSE
        ) AS last_agree
    FROM companies
),
evidence AS (
    SELECT
        *,
        -- a shared address is no evidence between rows whose first and last names both differ
        -- (a role mailbox the e-mail check did not know: "verwaltung@", "vendite@")
        same_linkedin OR same_mobile
            OR (same_email AND (first_agree OR last_agree OR swapped
                                OR fl IS NULL OR fr IS NULL OR ll IS NULL OR lr IS NULL)) AS identifier,
        -- two different mobiles: two people, as far as names alone can tell
        NOT namesakes AND NOT other_mobile AND (
            -- names alone are evidence only inside one company: namesakes abound across a large file
            (first_agree AND last_agree AND NOT other_company)
            -- swapped columns only where both rows name that company: "Thomas Martin" and
            -- "Martin Thomas" are two common French names as well as one typing slip
            OR (swapped AND same_company)
            -- "Rolland" without first name at the company where the only Rolland is Bruno
            OR ((fl IS NULL OR fr IS NULL) AND ll = lr AND same_company AND sole_surname)
        ) AS names,
        -- Names with a doubt, at one company: the name is known to be two people there, the
        -- first name is missing where the surname goes with several, or the surname is missing.
        -- Evidence only with the same job title and a very high probability.
        NOT other_mobile AND same_company AND (
            (namesakes AND first_agree AND last_agree)
            OR ((fl IS NULL OR fr IS NULL) AND ll = lr)
            OR ((ll IS NULL OR lr IS NULL) AND first_agree)
        ) AS doubtful_names,
        -- The same name and the same job title under two company names that the company rules
        -- do not match ("Compagnie provençale de chauffage" / "Cie provençale..."): evidence from a
        -- high probability.
        NOT namesakes AND NOT other_mobile AND first_agree AND last_agree AND other_company
            AND coalesce(same_role, FALSE) AS names_elsewhere,
        -- Person details (B2C lists have no company): a date of birth, a postal address or an
        -- identifier the two rows share. The probability says whether the rest agrees.
        NOT other_mobile AND (dob_agree AND both_dob OR same_address OR national_id_agree OR same_client_id) AS details
    FROM judged
)
SELECT
    uid_l,
    uid_r,
    match_probability,
    -- a hard conflict: these two rows are two people, whatever links them through others
    -- (one mobile number and one surname: a nickname or a typo the name rules did not know,
    -- "Nino" for Giovanni Russo, "Lae" for Lea Hoffmann; initials must still match)
    -- (the same national id, or one a typo apart with the same date of birth or address: one
    -- person whose first name was typed wrong or replaced, as FEBRL's duplicates show: "luke" /
    -- "mia" Purdon, one id, one birth date; 43 true pairs of FEBRL2's 1,934 were held apart
    -- without this. Twins share a date of birth and an address, not an id.)
    NOT (swapped OR fl IS NULL OR fr IS NULL OR first_agree OR same_email OR same_linkedin OR (same_mobile AND last_agree AND least(length(fl), length(fr)) >= 3)
         OR same_national_id OR (national_id_agree AND (dob_agree OR same_address)))
        OR (email_conflict AND NOT same_linkedin)
        OR linkedin_conflict
        -- Two dates of birth beyond a typo, with no identifier saying otherwise: two people
        -- (twins aside, who differ by first name). FEBRL's duplicates replace a whole date in
        -- 3-6 % of true pairs (24 of 500 in FEBRL1), nearly all with the same national id.
        OR (both_dob AND NOT dob_agree AND NOT national_id_agree AND NOT same_client_id)
        -- Two national ids beyond a typo, and neither the date of birth nor the address
        -- agrees (FEBRL replaces a whole id in 4-7 % of true pairs, nearly all with the same date
        -- of birth or address).
        OR (both_national_id AND NOT national_id_agree AND NOT dob_agree AND NOT same_address) AS conflict,
    identifier OR (names AND match_probability >= names_threshold)
        OR (doubtful_names AND same_role AND match_probability >= $names_doubtful_threshold)
        OR (doubtful_names AND same_role IS NULL AND match_probability >= $names_doubtful_unknown_role_threshold)
        OR (names_elsewhere AND match_probability >= $names_other_company_threshold)
        -- a person detail: date of birth, postal address, national or client id
        OR (details AND match_probability >= $details_threshold) AS evidence,
    -- names that agree, without identifier, scored below the names threshold (for the review file)
    names AND NOT identifier AND match_probability < names_threshold AS names_below_threshold
FROM (
    SELECT
        *,
        -- Names alone merge from a probability that depends on the job titles and on how many
        -- namesakes the company can hold. At 1M, without a shared title, the share of two people
        -- rises with the company: 1 % under 100 contacts, 14 % from 3,000 (two titles: 5 % and
        -- 45 %); with two titles, names that only look alike (an initial, a typo) were two people
        -- 62 times of 232. Thresholds in pipelines/clustering.py, chosen by replaying the 1M run's
        -- judged pairs (bench/replay_guard.py).
        CASE
            WHEN same_role THEN $names_same_role_threshold
            WHEN same_role IS NULL AND company_rows >= $large_company_rows THEN $names_large_company_threshold
            WHEN company_rows >= $large_company_rows THEN 2.0
            -- two titles and names that merely look alike (an initial, a typo): two people
            WHEN NOT same_role AND NOT coalesce((fl = fr OR same_canon) AND ll = lr, FALSE) THEN 2.0
            WHEN NOT same_role THEN $names_other_role_threshold
            ELSE $names_threshold
        END AS names_threshold
    FROM evidence
)
