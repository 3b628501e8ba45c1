-- How complete a contact record is: its filled contact fields. Golden records take the most
-- complete record as master, and is_master marks the most complete row of a file: one rule.
-- A postal address (street or postcode) and a date of birth count too (issue #14).
(first_name IS NOT NULL)::INT + (last_name IS NOT NULL)::INT + (email IS NOT NULL)::INT
    + (phone_e164 IS NOT NULL)::INT + (company IS NOT NULL)::INT + (website IS NOT NULL)::INT
    + (linkedin_url IS NOT NULL)::INT + (job_title IS NOT NULL)::INT + (country IS NOT NULL)::INT
    + (civility IS NOT NULL)::INT
    + (coalesce(street, postcode) IS NOT NULL)::INT + (date_of_birth IS NOT NULL)::INT
