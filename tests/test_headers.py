from pipelines.headers import map_headers, normalise_header


def test_normalise_header():
    assert normalise_header("  Prénom ") == "prenom"
    assert normalise_header("E-mail") == "e mail"
    assert normalise_header("Tél. portable") == "tel portable"


def test_french_excel_export():
    m = map_headers(["Civilité", "Prénom", "Nom", "Société", "E-mail", "Téléphone", "Fonction", "ID CRM"])
    assert m.fields == {
        "civility": 0, "first_name": 1, "last_name": 2, "company": 3, "email": 4, "phone": 5, "job_title": 6,
        "client_id": 7,
    }
    # The client's own id is recognised (client_id) and still comes back unchanged under its header.
    assert m.custom_columns == [7]


def test_german_spanish_italian_english():
    assert map_headers(["Vorname", "Nachname", "Firma", "E-Mail", "Handy"]).fields == {
        "first_name": 0, "last_name": 1, "company": 2, "email": 3, "mobile": 4,
    }
    assert map_headers(["Nombre", "Apellidos", "Empresa", "Correo electrónico", "Teléfono"]).fields == {
        "first_name": 0, "last_name": 1, "company": 2, "email": 3, "phone": 4,
    }
    assert map_headers(["Nome", "Cognome", "Azienda", "Email", "Ruolo"]).fields == {
        "first_name": 0, "last_name": 1, "company": 2, "email": 3, "job_title": 4,
    }
    assert map_headers(["First Name", "Last Name", "Company", "Email Address", "LinkedIn URL"]).fields == {
        "first_name": 0, "last_name": 1, "company": 2, "email": 3, "linkedin_url": 4,
    }


def test_name_headers_depend_on_neighbours():
    assert map_headers(["Nom", "Société", "E-mail"]).fields["full_name"] == 0
    assert map_headers(["Name", "Company"]).fields == {"full_name": 0, "company": 1}
    assert map_headers(["Nombre", "Empresa"]).fields["full_name"] == 0


def test_contains_rules_and_first_column_wins():
    m = map_headers(["E-mail professionnel 2", "Adresse e-mail", "Tél. portable perso", "Profil LinkedIn (URL)"])
    assert m.fields["email"] == 0
    assert m.fields["mobile"] == 2
    assert m.fields["linkedin_url"] == 3
    assert 1 in m.custom_columns


def test_febrl_headers_postal_address_date_of_birth_and_identifier():
    m = map_headers(["First Name", "Last Name", "Street Number", "Address", "Address 2", "City", "Postcode", "State",
                     "Date of Birth", "SSN"])
    assert m.fields == {
        "first_name": 0, "last_name": 1, "street_number": 2, "street": 3, "address_line2": 4, "city": 5,
        "postcode": 6, "region": 7, "date_of_birth": 8, "national_id": 9,
    }
    assert m.custom_columns == []
    assert m.has_identity()


def test_postal_headers_in_five_languages():
    expected = ["street_number", "street", "address_line2", "postcode", "city", "region", "date_of_birth", "client_id"]
    files = {
        "fr": ["N° de voie", "Adresse", "Complément d'adresse", "Code postal", "Ville", "Région", "Date de naissance",
               "Numéro client"],
        "en": ["House Number", "Street", "Address Line 2", "ZIP code", "Town", "County", "DOB", "Customer ID"],
        "de": ["Hausnummer", "Straße", "Adresszusatz", "PLZ", "Ort", "Bundesland", "Geburtsdatum", "Kundennummer"],
        "es": ["Número de calle", "Dirección", "Dirección 2", "Código postal", "Ciudad", "Provincia",
               "Fecha de nacimiento", "Número de cliente"],
        "it": ["Numero civico", "Indirizzo", "Indirizzo 2", "CAP", "Città", "Regione", "Data di nascita",
               "Codice cliente"],
    }
    for language, headers in files.items():
        fields = map_headers(["Nom", "Prénom", *headers]).fields
        assert [f for f in fields if f not in ("first_name", "last_name")] == expected, language
        assert [fields[f] for f in expected] == list(range(2, 10)), language


def test_address_headers_do_not_take_email_or_website():
    m = map_headers(["Adresse e-mail", "Website address", "Adresse postale 2", "Company"])
    assert m.fields["email"] == 0
    assert m.fields["website"] == 1
    assert m.fields["street"] == 2  # "contains" rule, after e-mail and website


def test_identity_rule_of_a_header_row():
    assert map_headers(["Nom", "Prénom", "Téléphone"]).has_identity()  # name + phone
    assert map_headers(["Last Name", "Date of Birth"]).has_identity()
    assert map_headers(["Last Name", "Postcode"]).has_identity()
    assert map_headers(["Customer number", "Country"]).has_identity()  # an identifier alone
    assert not map_headers(["Last Name", "City"]).has_identity()  # a city is no postal address
    assert not map_headers(["Job Title", "Country"]).has_identity()


def test_identifier_columns_named_in_the_settings():
    headers = ["ID", "Mitgliedsnr.", "Nachname", "Vorname"]
    assert map_headers(headers).fields["client_id"] == 0
    m = map_headers(headers, identifier_columns=["mitgliedsnr"])
    assert m.fields["client_id"] == 1
    assert 0 in m.custom_columns and 1 in m.custom_columns
    # A named column absent from the file changes nothing.
    assert map_headers(headers, identifier_columns=["Member"]).fields["client_id"] == 0


def test_contains_rules_with_exceptions():
    m = map_headers(["Nom", "Prénom", "Lieu de naissance", "Place of birth", "Date de naissance (JJ/MM/AAAA)",
                     "Adresse web", "IP address", "Adresse de facturation"])
    assert m.fields["date_of_birth"] == 4
    assert m.fields["website"] == 5
    assert m.fields["street"] == 7
    assert {2, 3, 6} <= set(m.custom_columns)
