"""Vocabularies of the generator's B2C profile (bench/generator.py, profile "b2c"): home
addresses per country. Fictitious combinations of common street names, real city names with a
postcode of the right format (the standardiser checks formats, not that the city has that code)."""

from __future__ import annotations

# Street type as written in full, and the abbreviations people and CRMs use for it.
STREET_TYPES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "FR": [("rue", ("r.", "R", "RUE")), ("avenue", ("av.", "av", "ave")), ("boulevard", ("bd", "bld", "boul.")),
           ("place", ("pl.", "pl")), ("allée", ("all.", "allee")), ("impasse", ("imp.", "imp")),
           ("chemin", ("ch.", "chem.")), ("route", ("rte", "rte.")), ("quai", ("qu.",))],
    "BE": [("rue", ("r.",)), ("avenue", ("av.",)), ("chaussée", ("chée", "chaussee")), ("place", ("pl.",))],
    "CH": [("rue", ("r.",)), ("chemin", ("ch.",)), ("avenue", ("av.",)), ("route", ("rte",))],
    "DE": [("straße", ("str.", "strasse", "Str")), ("weg", ("Weg",)), ("allee", ("Allee",)), ("platz", ("pl.", "Platz"))],
    "GB": [("Street", ("St", "St.", "street")), ("Road", ("Rd", "Rd.", "road")), ("Avenue", ("Ave", "Av")),
           ("Lane", ("Ln",)), ("Close", ("Cl",)), ("Drive", ("Dr",)), ("Crescent", ("Cres",))],
    "ES": [("calle", ("c/", "C/", "cl")), ("avenida", ("avda.", "av.")), ("plaza", ("pza.", "pl."))],
    "IT": [("via", ("v.", "V.")), ("viale", ("v.le", "vle")), ("piazza", ("p.za", "pza")), ("corso", ("c.so",))],
    "NL": [("straat", ("str.",)), ("laan", ("ln",)), ("weg", ("wg",)), ("plein", ("pln",))],
}
# Where the type goes: before the name (rue de la Paix) or glued after it (Hauptstraße, Dorpstraat).
TYPE_AFTER = {"DE": True, "NL": True, "GB": True}

STREET_NAMES: dict[str, list[str]] = {
    "FR": ["de la Paix", "Victor Hugo", "Jean Jaurès", "des Lilas", "Pasteur", "du Moulin", "de la Gare",
           "des Écoles", "du Général de Gaulle", "Gambetta", "de la République", "des Tilleuls", "Voltaire",
           "du Château", "des Acacias", "Émile Zola", "de Verdun", "des Peupliers", "du Port", "Saint-Michel",
           "des Roses", "de l'Église", "Nationale", "des Vignes", "du Stade", "Jules Ferry", "de Bretagne",
           "des Cerisiers", "Montaigne", "de la Liberté"],
    "BE": ["de la Station", "Royale", "de Namur", "des Champs", "du Moulin", "Louise", "de Mons", "des Écoles"],
    "CH": ["du Lac", "de Lausanne", "des Alpes", "du Marché", "de la Gare", "des Vignes"],
    "DE": ["Haupt", "Bahnhof", "Schiller", "Goethe", "Garten", "Linden", "Berg", "Kirch", "Schul", "Wald",
           "Mozart", "Birken", "Rosen", "Feld", "Dorf"],
    "GB": ["Church", "Station", "Victoria", "Park", "High", "Mill", "Queen's", "King", "Manor", "Green",
           "Albert", "Elm", "Oak", "Windsor", "Springfield"],
    "ES": ["Mayor", "Real", "de la Constitución", "del Sol", "San Juan", "de Cervantes", "Nueva", "del Carmen"],
    "IT": ["Roma", "Garibaldi", "Mazzini", "Dante", "Cavour", "Verdi", "Marconi", "Vittorio Emanuele"],
    "NL": ["Dorp", "Kerk", "School", "Molen", "Stations", "Julianaa", "Beatrix", "Wilhelmina"],
}

# (city, postcode) pairs per country; postcodes in the country's format.
CITIES: dict[str, list[tuple[str, str]]] = {
    "FR": [("Paris", "75011"), ("Paris", "75015"), ("Paris", "75018"), ("Lyon", "69003"), ("Lyon", "69007"),
           ("Marseille", "13008"), ("Toulouse", "31000"), ("Nantes", "44000"), ("Bordeaux", "33000"),
           ("Lille", "59000"), ("Rennes", "35000"), ("Strasbourg", "67000"), ("Montpellier", "34000"),
           ("Nice", "06000"), ("Grenoble", "38000"), ("Dijon", "21000"), ("Angers", "49000"),
           ("Reims", "51100"), ("Le Mans", "72000"), ("Brest", "29200"), ("Tours", "37000"),
           ("Limoges", "87000"), ("Clermont-Ferrand", "63000"), ("Amiens", "80000"), ("Metz", "57000"),
           ("Besançon", "25000"), ("Perpignan", "66000"), ("Orléans", "45000"), ("Rouen", "76000"),
           ("Caen", "14000"), ("Nancy", "54000"), ("Avignon", "84000"), ("Poitiers", "86000"),
           ("La Rochelle", "17000"), ("Pau", "64000"), ("Annecy", "74000"), ("Vannes", "56000"),
           ("Saint-Étienne", "42000"), ("Aix-en-Provence", "13100"), ("Ajaccio", "20000")],
    "BE": [("Bruxelles", "1000"), ("Liège", "4000"), ("Namur", "5000"), ("Charleroi", "6000"), ("Mons", "7000"),
           ("Gent", "9000"), ("Antwerpen", "2000")],
    "CH": [("Genève", "1201"), ("Lausanne", "1003"), ("Zürich", "8001"), ("Bern", "3011"), ("Basel", "4051")],
    "DE": [("Berlin", "10115"), ("München", "80331"), ("Hamburg", "20095"), ("Köln", "50667"),
           ("Frankfurt am Main", "60311"), ("Stuttgart", "70173"), ("Leipzig", "04109"), ("Dresden", "01067")],
    "GB": [("London", "SW1A 2AA"), ("London", "N1 9GU"), ("Manchester", "M1 1AE"), ("Leeds", "LS1 4DY"),
           ("Bristol", "BS1 5TR"), ("Birmingham", "B1 1BB"), ("Glasgow", "G1 1XQ")],
    "ES": [("Madrid", "28013"), ("Barcelona", "08002"), ("Valencia", "46002"), ("Sevilla", "41004"),
           ("Bilbao", "48001")],
    "IT": [("Roma", "00184"), ("Milano", "20121"), ("Torino", "10121"), ("Napoli", "80133"), ("Bologna", "40121")],
    "NL": [("Amsterdam", "1012 AB"), ("Rotterdam", "3011 AD"), ("Utrecht", "3511 LX"), ("Den Haag", "2511 CV")],
}
