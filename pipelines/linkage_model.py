"""The contact model for Splink 5, as data: comparisons, blocking rules and training rules.

SQL conditions are plain strings (as in Splink's own settings dicts) so the model can be read,
diffed and saved as JSON. Columns refer to the linkage input built in pipelines/linkage.py.
"""

from __future__ import annotations

from typing import Any

# enriched_contacts columns the linkage input is derived from (for column lineage).
LINKAGE_COLUMNS_SOURCE = (
    "first_name_key",
    "last_name_key",
    "email",
    "email_qualification",
    "phone_e164",
    "company_key",
    "company_domain",
    "linkedin_slug",
)

# Columns the model reads, all strings (null when unknown).
LINKAGE_COLUMNS = (
    "first_name_key",
    "first_name_canon",
    "last_name_key",
    "email_nominative",
    "email_local",
    "email_pro",
    "phone_e164",
    "phone_mobile",
    "company_key",
    "company_domain",
    "linkedin_slug",
    "date_of_birth",
    "street_number_key",
    "street_key",
    "postcode_key",
    "city_key",
    "national_id_key",
    "client_id_key",
    "email_user",
    "email_user_domain",
    "email_user_digit",
    "email_user_last",
    "email_user_first_len",
)

# Optional fields: a comparison (and the blocking rules on it) is in a file's model only when the
# file (upload and master together) has the field (fields_present). Names are always compared.
# field -> the linkage input column that says whether a row has it.
FIELD_COLUMNS: dict[str, str] = {
    "email": "email_nominative",
    "phone": "phone_e164",
    "company": "company_key",
    "linkedin": "linkedin_slug",
    "date_of_birth": "date_of_birth",
    "address": "street_key",
    "postcode": "postcode_key",
    "city": "city_key",
    "national_id": "national_id_key",
    "client_id": "client_id_key",
}
# The comparisons of the model before person details were known: a model that does not say which
# fields it was built for (the shipped default model, models saved before) has these.
B2B_FIELDS: frozenset[str] = frozenset({"email", "phone", "company", "linkedin"})
# A field counts as present from this share of rows: EM needs pairs that agree on it to estimate
# its levels, and a model whose best level was never observed is rejected (linkage.model_problems).
MIN_FIELD_SHARE = 0.01


def _null(col: str) -> dict[str, Any]:
    return {"sql_condition": f'"{col}_l" IS NULL OR "{col}_r" IS NULL', "label_for_charts": "null", "is_null_level": True}


def _exact(col: str, tf: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": f'"{col}_l" = "{col}_r"', "label_for_charts": "exact"}
    if tf:
        level["tf_adjustment_column"] = col
        level["tf_adjustment_weight"] = 1.0
    return level


def _jw(col: str, threshold: float) -> dict[str, Any]:
    return {
        "sql_condition": f'jaro_winkler_similarity("{col}_l", "{col}_r") >= {threshold}',
        "label_for_charts": f"jaro-winkler >= {threshold}",
    }


def _close_or_initial(a: str, b: str) -> str:
    """SQL: two name values agree up to a typo, or one is the other's initial."""
    return (f"(jaro_winkler_similarity({a}, {b}) >= 0.9 "
            f"OR ((length({a}) = 1 OR length({b}) = 1) AND left({a}, 1) = left({b}, 1)))")


def _swapped(col: str, other: str) -> dict[str, Any]:
    # Term frequencies as on exact names: "white jasmine" / "jasmine white" is common names
    # swapped as often as one person typed twice (it took about +12 bits without them).
    # "Schröder F." against "Fabian Schroeder": swapped, and the first name may be cut to its
    # initial on one side (not both: two initials are no name).
    cl, cr, ol, orr = f'"{col}_l"', f'"{col}_r"', f'"{other}_l"', f'"{other}_r"'
    return {
        "sql_condition": f"{_close_or_initial(cl, orr)} AND {_close_or_initial(ol, cr)} "
        f"AND ((jaro_winkler_similarity({cl}, {orr}) >= 0.9 AND least(length({cl}), length({orr})) >= 2) "
        f"OR (jaro_winkler_similarity({ol}, {cr}) >= 0.9 AND least(length({ol}), length({cr})) >= 2))",
        "label_for_charts": "swapped with the other name column",
        "tf_adjustment_column": col,
        "tf_adjustment_weight": 1.0,
    }


_ELSE = {"sql_condition": "ELSE", "label_for_charts": "else"}

COMPARISONS: list[dict[str, Any]] = [
    {
        "output_column_name": "first_name",
        "comparison_levels": [
            _null("first_name_key"),
            _exact("first_name_key", tf=True),
            # First and last name typed into each other's columns (a typo allowed).
            _swapped("first_name_key", "last_name_key"),
            # "Bob" against "Robert" (pipelines/data/nicknames.yaml).
            {
                "sql_condition": '"first_name_canon_l" = "first_name_canon_r"',
                "label_for_charts": "same name after nicknames",
            },
            # "J" against "jean": an initial that agrees.
            {
                "sql_condition": '(length("first_name_key_l") = 1 OR length("first_name_key_r") = 1) '
                'AND left("first_name_key_l", 1) = left("first_name_key_r", 1)',
                "label_for_charts": "initial agrees",
            },
            _jw("first_name_key", 0.92),
            _jw("first_name_key", 0.8),
            _ELSE,
        ],
    },
    {
        "output_column_name": "last_name",
        "comparison_levels": [
            _null("last_name_key"),
            _exact("last_name_key", tf=True),
            _swapped("last_name_key", "first_name_key"),
            _jw("last_name_key", 0.94),
            _jw("last_name_key", 0.85),
            _ELSE,
        ],
    },
    {
        # Only nominative addresses: generic mailboxes (contact@, info@) are nulled before linkage,
        # so a shared mailbox can never merge two people by itself.
        "output_column_name": "email",
        "comparison_levels": [
            _null("email_nominative"),
            _exact("email_nominative"),
            # The same local part with a typo in the domain ("ysisece.be" for "ysisence.be",
            # "otlook.de" for "outlook.de").
            {
                "sql_condition": 'split_part("email_nominative_l", \'@\', 1) = split_part("email_nominative_r", \'@\', 1) '
                'AND damerau_levenshtein(split_part("email_nominative_l", \'@\', 2), '
                'split_part("email_nominative_r", \'@\', 2)) <= 2',
                "label_for_charts": "same local part, domain typo",
            },
            # One mailbox typed with a slip in its local part ("sam.piins@" for "sam.prins@"), or
            # an alias of it ("j.doe@" for "john.doe@": the same surname part, the first name cut
            # to its initial): evidence for a match, on the same domain only. Colleagues
            # ("a.lamy@" and "a.gay@") differ by more than one edit and in the surname part;
            # "jane.doe@" and "j.doe@" reach the alias level, and the first names decide.
            {
                # Cheap tests first: DuckDB evaluates the rest only on the rows they keep.
                "sql_condition": '"email_user_domain_l" = "email_user_domain_r" '
                'AND left("email_user_l", 1) = left("email_user_r", 1) '
                'AND least(length("email_user_l"), length("email_user_r")) >= 5 '
                # a number is no slip: "sylvie.bertrand2@" is numbered for a namesake; nor is
                # another initial: "pmartin@" and "jmartin@" are colleagues
                'AND NOT ("email_user_digit_l" OR "email_user_digit_r") '
                'AND damerau_levenshtein("email_user_l", "email_user_r") <= 1',
                "label_for_charts": "one typo in the local part",
            },
            {
                "sql_condition": '"email_user_last_l" = "email_user_last_r" '
                'AND "email_user_domain_l" = "email_user_domain_r" '
                'AND left("email_user_l", 1) = left("email_user_r", 1) '
                'AND length("email_user_last_l") >= 3 '
                'AND ("email_user_first_len_l" = 1 OR "email_user_first_len_r" = 1)',
                "label_for_charts": "alias: initial and same surname part",
            },
            _ELSE,
        ],
    },
    {
        # Term frequencies: a switchboard number shared by colleagues weighs little.
        "output_column_name": "phone",
        "comparison_levels": [
            _null("phone_e164"),
            _exact("phone_e164", tf=True),
            # The same national number read with the wrong country code ("+33 553..." for "+41 553...").
            {
                "sql_condition": 'right("phone_e164_l", 9) = right("phone_e164_r", 9)',
                "label_for_charts": "same number, other country code",
            },
            _ELSE,
        ],
    },
    {
        # Company name and company domain are one piece of evidence, so they are one comparison.
        "output_column_name": "company",
        "comparison_levels": [
            # Without both names, two different domains say little (a website domain against a
            # group's mail domain): only an agreeing domain counts.
            {
                "sql_condition": '("company_key_l" IS NULL OR "company_key_r" IS NULL) '
                'AND NOT coalesce("company_domain_l" = "company_domain_r", FALSE)',
                "label_for_charts": "null",
                "is_null_level": True,
            },
            # Term frequencies: two people at a company of 2,000 contacts share it by chance far
            # more often than at a company of 5.
            {**_exact("company_key", tf=True), "label_for_charts": "same company"},
            {
                "sql_condition": '"company_domain_l" = "company_domain_r"',
                "label_for_charts": "same company domain",
            },
            _jw("company_key", 0.9),
            _ELSE,
        ],
    },
    {
        "output_column_name": "linkedin",
        "comparison_levels": [_null("linkedin_slug"), _exact("linkedin_slug"), _ELSE],
    },
]

_DOB_L, _DOB_R = '"date_of_birth_l"', '"date_of_birth_r"'

# Person details (issue 14): compared only when the file has them (FIELD_COLUMNS).
PERSON_COMPARISONS: list[dict[str, Any]] = [
    {
        "output_column_name": "date_of_birth",
        "comparison_levels": [
            _null("date_of_birth"),
            _exact("date_of_birth"),
            # 1984-03-07 against 1984-07-03: day and month read in the other order.
            {
                "sql_condition": f"left({_DOB_L}, 4) = left({_DOB_R}, 4) "
                f"AND substr({_DOB_L}, 6, 2) = substr({_DOB_R}, 9, 2) AND substr({_DOB_L}, 9, 2) = substr({_DOB_R}, 6, 2)",
                "label_for_charts": "day and month swapped",
            },
            # One digit typed wrong or two neighbours swapped (1984-03-07 / 1984-03-01, 1948 / 1984).
            {
                "sql_condition": f"damerau_levenshtein({_DOB_L}, {_DOB_R}) <= 1",
                "label_for_charts": "one digit off",
            },
            _ELSE,
        ],
    },
    {
        # The street and its number; the postcode is a comparison of its own (with term
        # frequencies), here it only must not disagree.
        "output_column_name": "address",
        "comparison_levels": [
            _null("street_key"),
            {
                "sql_condition": '"street_number_key_l" = "street_number_key_r" '
                'AND jaro_winkler_similarity("street_key_l", "street_key_r") >= 0.9 '
                'AND coalesce("postcode_key_l" = "postcode_key_r", TRUE)',
                "label_for_charts": "same number, close street, postcode not different",
            },
            {
                "sql_condition": '"street_number_key_l" = "street_number_key_r" '
                'AND jaro_winkler_similarity("street_key_l", "street_key_r") >= 0.9',
                "label_for_charts": "same number, close street",
            },
            _jw("street_key", 0.9),
            _ELSE,
        ],
    },
    {
        # Term frequencies: a city's central postcode is shared by many.
        "output_column_name": "postcode",
        "comparison_levels": [
            _null("postcode_key"),
            _exact("postcode_key", tf=True),
            {
                "sql_condition": 'damerau_levenshtein("postcode_key_l", "postcode_key_r") <= 1',
                "label_for_charts": "one character off",
            },
            _ELSE,
        ],
    },
    {
        "output_column_name": "city",
        "comparison_levels": [_null("city_key"), _exact("city_key", tf=True), _jw("city_key", 0.9), _ELSE],
    },
    {
        "output_column_name": "national_id",
        "comparison_levels": [
            _null("national_id_key"),
            _exact("national_id_key"),
            {
                "sql_condition": 'least(length("national_id_key_l"), length("national_id_key_r")) >= 5 '
                'AND damerau_levenshtein("national_id_key_l", "national_id_key_r") <= 1',
                "label_for_charts": "one character off",
            },
            _ELSE,
        ],
    },
    {
        "output_column_name": "client_id",
        "comparison_levels": [_null("client_id_key"), _exact("client_id_key"), _ELSE],
    },
]

# comparison output name -> the field it needs (names: always).
COMPARISON_FIELDS: dict[str, str | None] = {
    "first_name": None, "last_name": None, "email": "email", "phone": "phone", "company": "company",
    "linkedin": "linkedin", "date_of_birth": "date_of_birth", "address": "address", "postcode": "postcode",
    "city": "city", "national_id": "national_id", "client_id": "client_id",
}

# Pairs scored at prediction time; each rule is measured in bench/ for recall and pair counts.
BLOCKING_RULES_PREDICT: list[str] = [
    'l."email_nominative" = r."email_nominative"',
    'l."linkedin_slug" = r."linkedin_slug"',
    # (first and last name: covered by the nickname-aware rule below, which finds a superset)
    'l."last_name_key" = r."last_name_key" AND l."company_key" = r."company_key"',
    'l."first_name_key" = r."first_name_key" AND l."company_key" = r."company_key"',
    'l."phone_e164" = r."phone_e164" AND left(l."last_name_key", 2) = left(r."last_name_key", 2)',
    'l."first_name_key" = r."last_name_key" AND l."last_name_key" = r."first_name_key"',
    'l."last_name_key" = r."first_name_key" AND l."company_key" = r."company_key"',
    # The same the other way round: pairs are generated with l before r, so a rule that is not
    # symmetric finds only half of the swapped rows.
    'l."first_name_key" = r."last_name_key" AND l."company_key" = r."company_key"',
    'l."first_name_canon" = r."first_name_canon" AND l."last_name_key" = r."last_name_key"',
    'l."phone_mobile" = r."phone_mobile"',
    'l."email_local" = r."email_local" AND l."company_key" = r."company_key"',
]

# Prediction rules on person details, per field (only for files that have it). A date of birth
# alone would pair 1M rows into 1.4e7 pairs: it goes with an initial or a postcode.
PERSON_BLOCKING_RULES: dict[str, list[str]] = {
    "date_of_birth": [
        'l."date_of_birth" = r."date_of_birth" AND left(l."first_name_key", 1) = left(r."first_name_key", 1)',
        'l."date_of_birth" = r."date_of_birth" AND left(l."last_name_key", 1) = left(r."last_name_key", 1)',
        'l."date_of_birth" = r."date_of_birth" AND l."postcode_key" = r."postcode_key"',
        # Names typed into each other's columns, with a typo ("madelnie conaghty" / "conaghty
        # madeline"); both ways, pairs come with l before r.
        'l."date_of_birth" = r."date_of_birth" AND left(l."first_name_key", 1) = left(r."last_name_key", 1)',
        'l."date_of_birth" = r."date_of_birth" AND left(l."last_name_key", 1) = left(r."first_name_key", 1)',
    ],
    "postcode": [
        'l."postcode_key" = r."postcode_key" AND l."street_number_key" = r."street_number_key"',
        'l."postcode_key" = r."postcode_key" AND l."last_name_key" = r."last_name_key"',
    ],
    "national_id": ['l."national_id_key" = r."national_id_key"'],
    "client_id": ['l."client_id_key" = r."client_id_key"'],
}

# Rules precise enough to count sure matches for the prior.
DETERMINISTIC_RULES: list[str] = [
    'l."email_nominative" = r."email_nominative"',
    'l."linkedin_slug" = r."linkedin_slug"',
]
PERSON_DETERMINISTIC_RULES: dict[str, str] = {
    "national_id": 'l."national_id_key" = r."national_id_key"',
    "client_id": 'l."client_id_key" = r."client_id_key"',
    "date_of_birth": 'l."first_name_key" = r."first_name_key" AND l."last_name_key" = r."last_name_key" '
    'AND l."date_of_birth" = r."date_of_birth"',
}
DETERMINISTIC_RECALL = 0.7

# EM sessions on different columns: a session cannot estimate the columns it blocks on.
EM_BLOCKING_RULES: list[str] = [
    'l."email_nominative" = r."email_nominative"',
    'l."first_name_key" = r."first_name_key" AND l."last_name_key" = r."last_name_key"',
]
# Without e-mail (FEBRL, B2C lists): names, then the first of these the file has.
EM_SECOND_RULES: dict[str, str] = {
    "date_of_birth": 'l."date_of_birth" = r."date_of_birth"',
    "postcode": 'l."postcode_key" = r."postcode_key" AND l."street_number_key" = r."street_number_key"',
    "phone": 'l."phone_e164" = r."phone_e164"',
    "company": 'l."company_key" = r."company_key"',
}


# Identifiers are compared only when a value repeats: a column of row ids (a CRM export's contact
# id, one per row, duplicates included) has no agreeing pair to learn from, and its disagreement
# is no evidence (the generated B2B files' CRM ids: training was rejected with them compared).
REPEATING_FIELDS = frozenset({"national_id", "client_id"})


def fields_present(con: Any, table: str = "contacts") -> frozenset[str]:
    """The optional fields (FIELD_COLUMNS) that at least MIN_FIELD_SHARE of the rows of `table`
    (the linkage input, upload and master) have; identifiers (REPEATING_FIELDS) only when a value
    repeats. Counts only: no value leaves the database."""
    counts = ", ".join(
        f'count("{col}")' + (f' - count(DISTINCT "{col}")' if f in REPEATING_FIELDS else "")
        + f', count("{col}")'
        for f, col in FIELD_COLUMNS.items())
    row = con.execute(f"SELECT count(*), {counts} FROM {table}").fetchall()[0]
    total = max(int(row[0]), 1)
    present = []
    for i, field in enumerate(FIELD_COLUMNS):
        repeats, filled = row[1 + 2 * i], row[2 + 2 * i]
        if filled and filled / total >= MIN_FIELD_SHARE and (field not in REPEATING_FIELDS or repeats > 0):
            present.append(field)
    return frozenset(present)


def comparison_fields(model: dict[str, Any]) -> frozenset[str]:
    """The optional fields a (saved) model compares."""
    return frozenset(f for c in model.get("comparisons", []) if (f := COMPARISON_FIELDS.get(c["output_column_name"])))


def deterministic_rules(fields: frozenset[str] | None = None) -> list[str]:
    fields = B2B_FIELDS if fields is None else fields
    rules = [r for r, f in ((DETERMINISTIC_RULES[0], "email"), (DETERMINISTIC_RULES[1], "linkedin")) if f in fields]
    return rules + [rule for f, rule in PERSON_DETERMINISTIC_RULES.items() if f in fields]


def em_blocking_rules(fields: frozenset[str] | None = None) -> list[str]:
    fields = B2B_FIELDS if fields is None else fields
    if "email" in fields:
        return list(EM_BLOCKING_RULES)
    second = next((rule for f, rule in EM_SECOND_RULES.items() if f in fields), None)
    return [EM_BLOCKING_RULES[1]] + ([second] if second else [])


def blocking_rules(fields: frozenset[str] | None = None) -> list[str]:
    fields = B2B_FIELDS if fields is None else fields
    return BLOCKING_RULES_PREDICT + [r for f, rules in PERSON_BLOCKING_RULES.items() if f in fields for r in rules]


def new_records_only(rule: str) -> str:
    """A prediction blocking rule restricted to pairs with at least one record of this upload:
    pairs of earlier records were settled when they arrived."""
    return f'({rule}) AND (l."is_new" OR r."is_new")'


def _without_swapped_tf(comparison: dict[str, Any]) -> dict[str, Any]:
    """The comparison with no term frequencies on its swapped-names level. Files with a company
    need none there: the guard counts swapped names only within one company (sql/merge_guard.sql),
    and the term frequencies on that level doubled the scoring time at 1M generated rows (14.2 ->
    25.0 s, the same pairs and the same P / R)."""
    levels = [{k: v for k, v in lvl.items() if not k.startswith("tf_adjustment")}
              if lvl.get("label_for_charts") == "swapped with the other name column" else lvl
              for lvl in comparison["comparison_levels"]]
    return {**comparison, "comparison_levels": levels}


def settings_dict(fields: frozenset[str] | None = None) -> dict[str, Any]:
    """The model for a file with these optional fields (FIELD_COLUMNS; None: the B2B fields, as
    the shipped default model)."""
    fields = B2B_FIELDS if fields is None else fields
    comparisons = [c for c in COMPARISONS + PERSON_COMPARISONS
                   if COMPARISON_FIELDS[c["output_column_name"]] is None or COMPARISON_FIELDS[c["output_column_name"]] in fields]
    if "company" in fields:
        comparisons = [_without_swapped_tf(c) for c in comparisons]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "uid",
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [new_records_only(r) for r in blocking_rules(fields)],
        "retain_matching_columns": False,
        # gamma_* and mw_* columns: the merge audit names the comparisons that decided each merge.
        "retain_intermediate_calculation_columns": True,
        "max_iterations": 100,
        "em_convergence": 0.0001,
    }
