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
)


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
    # "Schröder F." against "Fabian Schroeder": swapped, and the first name may be cut to its
    # initial on one side (not both: two initials are no name).
    cl, cr, ol, orr = f'"{col}_l"', f'"{col}_r"', f'"{other}_l"', f'"{other}_r"'
    return {
        "sql_condition": f"{_close_or_initial(cl, orr)} AND {_close_or_initial(ol, cr)} "
        f"AND ((jaro_winkler_similarity({cl}, {orr}) >= 0.9 AND least(length({cl}), length({orr})) >= 2) "
        f"OR (jaro_winkler_similarity({ol}, {cr}) >= 0.9 AND least(length({ol}), length({cr})) >= 2))",
        "label_for_charts": "swapped with the other name column",
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
            # "otlook.de" for "outlook.de"). A typo in the local part is not evidence: "a.lamy@"
            # and "a.gay@" are two colleagues.
            {
                "sql_condition": 'split_part("email_nominative_l", \'@\', 1) = split_part("email_nominative_r", \'@\', 1) '
                'AND damerau_levenshtein(split_part("email_nominative_l", \'@\', 2), '
                'split_part("email_nominative_r", \'@\', 2)) <= 2',
                "label_for_charts": "same local part, domain typo",
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

# Rules precise enough to count sure matches for the prior.
DETERMINISTIC_RULES: list[str] = [
    'l."email_nominative" = r."email_nominative"',
    'l."linkedin_slug" = r."linkedin_slug"',
]
DETERMINISTIC_RECALL = 0.7

# EM sessions on different columns: a session cannot estimate the columns it blocks on.
EM_BLOCKING_RULES: list[str] = [
    'l."email_nominative" = r."email_nominative"',
    'l."first_name_key" = r."first_name_key" AND l."last_name_key" = r."last_name_key"',
]


def new_records_only(rule: str) -> str:
    """A prediction blocking rule restricted to pairs with at least one record of this upload:
    pairs of earlier records were settled when they arrived."""
    return f'({rule}) AND (l."is_new" OR r."is_new")'


def settings_dict() -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "uid",
        "comparisons": COMPARISONS,
        "blocking_rules_to_generate_predictions": [new_records_only(r) for r in BLOCKING_RULES_PREDICT],
        "retain_matching_columns": False,
        # gamma_* and mw_* columns: the merge audit names the comparisons that decided each merge.
        "retain_intermediate_calculation_columns": True,
        "max_iterations": 100,
        "em_convergence": 0.0001,
    }
