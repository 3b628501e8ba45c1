"""French phrases (regular-expression fragments) the mailbox signal extractor looks for.

Normalised text: case-folded, accents removed ("a quitte la societe" matches "a quitté la société"),
typographic apostrophes made ASCII, whitespace collapsed.
"""

PHRASES: dict[str, list[str]] = {
    "bounce_subject": [
        r"non remis",
        r"echec de (la )?(remise|distribution|livraison)",
        r"remise (retardee|differee)",
        r"message non (remis|distribue|delivre)",
        r"retour de courrier",
        r"impossible de remettre",
    ],
    "bounce_body": [
        r"echec de (la )?(remise|distribution|livraison)",
        r"n'a pas pu etre (remis|distribue|delivre|livre)",
        r"impossible de (remettre|distribuer|delivrer) (le|votre) message",
        r"la remise (a echoue|a ces destinataires ou groupes a echoue)",
        r"votre message (a|n'a pas pu etre) .{0,40}(remis|distribue)",
        r"n'a pas ete (remis|distribue)",
        r"adresse (introuvable|inconnue)",
        r"le serveur distant a renvoye",
        r"remise (retardee|differee)",
        r"n'a pas encore ete (remis|distribue)",
    ],
    "delay": [
        r"remise (retardee|differee)",
        r"n'a pas encore ete (remis|distribue)",
        r"(nouvelle tentative|nouvelles tentatives|continuera d'essayer|reessaiera)",
        r"aucune action n'est requise",
    ],
    "soft": [
        r"boite (aux lettres |de reception )?(du destinataire )?(est )?(pleine|saturee)",
        r"quota (depasse|atteint)",
        r"espace de stockage insuffisant",
        r"temporairement (indisponible|refuse)",
        r"erreur temporaire",
    ],
    "hard": [
        r"(destinataire|utilisateur|adresse|boite aux lettres) (inconnu|inconnue|introuvable|inexistante?)",
        r"n'existe (pas|plus)",
        r"compte (desactive|supprime)",
        r"adresse (e-?mail )?(non valide|invalide)",
    ],
    "bounce_not_recipient": [
        r"(contactez|contacter|ecrivez a|ecrire a) (votre |l'|le )?(administrateur|administratrice|support|assistance|service informatique|postmaster)",
        r"(administrateur|support|assistance) (a l'adresse|a)",
        r"pour (toute )?(assistance|aide)",
    ],
    "autoreply_subject": [
        r"^reponse automatique",
        r"^(message )?automatique",
        r"absence du bureau",
        r"^absente?\b(?! de)",
        r"^absence\b(?! de)",  # "Absence de réponse" is a person writing
    ],
    "departure": [
        r"(a|ai) quitte (la societe|l'entreprise|le groupe|le cabinet|l'agence|notre (societe|entreprise|groupe|cabinet)|ses fonctions|mes fonctions|nos effectifs)",
        r"ne (fait|fais) plus partie (de|du|des)",
        r"n'est plus en poste",
        r"ne suis plus en poste",
        r"(a|ai) quitte (?!le bureau)[a-z0-9&' .-]{1,40} (le|depuis le|au|en date du) [0-9]{1,2}",
        r"(a|ai|est) (pris sa|pris ma|parti a la|partie a la) retraite",
        r"ne travaille plus (chez|pour|au sein|dans|avec)",
        r"n'(est|exerce) plus (au sein|employee?|salariee?|collaborat(eur|rice)) ",
        r"n'est plus (chez|dans l'entreprise|dans la societe)",
        r"cette (adresse|boite) (e-?mail |mail |de messagerie )?n'est plus (active|consultee|utilisee)",
    ],
    "out_of_office": [
        r"absente? du bureau",
        r"en (vacances|conges?|deplacement|formation|rtt|arret maladie)",
        r"conge (maternite|paternite|parental)",
        r"je serai de retour",
        r"de retour le",
        r"actuellement absente?",
        r"je suis absente?",
        r"acces (limite|restreint) a (mes|ma) (e-?mails|messagerie)",
    ],
    "replacement_contact": [
        r"(merci|je vous remercie|vous pouvez|veuillez|priere) (de |d')?(le |la |l'|me |nous )?(contacter|vous adresser a|ecrire a|joindre|transmettre .{0,30} a)",
        r"(contactez|ecrivez a|adressez-vous a|joignez)",
        r"(reprend|a repris|assure|gere desormais|prend le relais|remplace)",
        r"votre (nouvel |nouvelle )?(interlocut(eur|rice)|contact) (est|sera)",
    ],
    "replacement_new": [
        r"(ma|sa) nouvelle adresse",
        r"(mon|son) nouvel? (e-?mail|courriel|adresse)",
        r"me (contacter|joindre|ecrire) (a|sur) (l'adresse|mon adresse|mon nouvel)",
        r"me (contacter|joindre|ecrire) (a|sur)",
    ],
    "quote_markers": [
        r"-+ ?message d'origine ?-+",
        r"^de ?: ",
        r"^le .{1,120} a ecrit ?:",
        r"^envoye ?: ",
    ],
    "returned_markers": [
        r"en-tetes du message (d'origine|original)",
        r"-+ ?message d'origine ?-+",
    ],
    "stopwords": [
        "le", "la", "les", "de", "des", "et", "vous", "votre", "est", "pour", "une", "pas", "merci", "je", "ne", "plus",
    ],
}
