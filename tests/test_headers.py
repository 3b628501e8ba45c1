from pipelines.headers import map_headers, normalise_header


def test_normalise_header():
    assert normalise_header("  Prénom ") == "prenom"
    assert normalise_header("E-mail") == "e mail"
    assert normalise_header("Tél. portable") == "tel portable"


def test_french_excel_export():
    m = map_headers(["Civilité", "Prénom", "Nom", "Société", "E-mail", "Téléphone", "Fonction", "ID CRM"])
    assert m.fields == {
        "civility": 0, "first_name": 1, "last_name": 2, "company": 3, "email": 4, "phone": 5, "job_title": 6,
    }
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
