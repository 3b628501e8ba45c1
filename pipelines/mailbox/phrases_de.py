"""German phrases (regular-expression fragments) the mailbox signal extractor looks for.

Normalised text: case-folded, accents and umlauts' diacritics removed ("fur" matches "für"; "ß" becomes "ss"),
whitespace collapsed.
"""

PHRASES: dict[str, list[str]] = {
    "bounce_subject": [
        r"unzustellbar",
        r"nicht zustellbar",
        r"zustellung (fehlgeschlagen|verzogert|gescheitert)",
        r"unzustellbare nachricht",
        r"ruckmeldung zur zustellung",
        r"fehler bei der zustellung",
    ],
    "bounce_body": [
        r"(konnte|konnten) nicht zugestellt werden",
        r"die nachricht konnte nicht",
        r"zustellung an (diese|folgende) empfanger( oder gruppen)? ist fehlgeschlagen",
        r"ihre nachricht (an .{1,120} )?(wurde nicht zugestellt|konnte nicht)",
        r"(wurde|ist) nicht zugestellt",
        r"adresse (nicht gefunden|unbekannt)",
        r"der remoteserver hat .{0,20} zuruckgegeben",
        r"zustellung (verzogert|fehlgeschlagen)",
        r"noch nicht zugestellt",
    ],
    "delay": [
        r"zustellung (ist |wurde )?verzogert",
        r"noch nicht zugestellt",
        r"(wird|werden) (weiterhin|erneut) versucht",
        r"sie mussen nichts (weiter )?(tun|unternehmen)",
    ],
    "soft": [
        r"postfach (des empfangers )?(ist )?(voll|uberfullt)",
        r"speicher(platz|grenze) (uberschritten|erreicht)",
        r"kontingent (uberschritten|erreicht)",
        r"vorubergehend (nicht verfugbar|abgelehnt)",
        r"vorubergehender fehler",
    ],
    "hard": [
        r"(empfanger|benutzer|adresse|postfach) (ist )?(unbekannt|nicht gefunden|existiert nicht|nicht vorhanden)",
        r"existiert nicht",
        r"unbekannter (empfanger|benutzer)",
        r"(konto|postfach) (wurde )?(deaktiviert|geloscht|gesperrt)",
        r"ungultige (adresse|e-?mail-adresse|empfangeradresse)",
    ],
    "bounce_not_recipient": [
        r"(wenden sie sich an|kontaktieren sie|schreiben sie an) (ihren |ihre |den |die )?(administrator|administratorin|e-?mail-administrator|support|helpdesk|it-abteilung|postmaster)",
        r"(administrator|support|helpdesk) (unter|an)",
        r"fur (weitere )?(hilfe|unterstutzung)",
    ],
    "autoreply_subject": [
        r"^automatische antwort",
        r"^(automatische )?abwesenheits(notiz|nachricht|meldung)",
        r"^autom\.",
        r"^abwesend",
    ],
    "departure": [
        r"(hat|habe) (das|unser) unternehmen (verlassen|zum .{1,20} verlassen)",
        r"(hat|habe) (das|unser) unternehmen .{0,40}verlassen",
        # Not "nicht mehr für": "ab Januar bin ich nicht mehr für Projekt X zuständig" is a change of duties.
        r"(ist|bin) nicht mehr (bei|im unternehmen|in unserem unternehmen|teil (des|unseres) (unternehmens|teams))",
        r"nicht mehr (fur|bei) .{0,60} tatig",
        r"nicht mehr (im|in unserem) (unternehmen|haus|team)",
        r"(ist|bin) (aus dem unternehmen|bei uns) ausgeschieden",
        r"(ist|bin) .{0,40} ausgeschieden",
        r"(hat|habe) .{0,40} verlassen und ist",
        r"nicht mehr (beschaftigt|angestellt|erreichbar unter dieser adresse)",
        r"arbeitet nicht mehr (bei|fur|im unternehmen)",
        r"(hat|habe) (die |den |das )?[a-z0-9&. -]{1,40} (zum|am|per) [0-9a-z. ]{1,20} verlassen",
        r"diese (e-?mail-?)?(adresse|postfach) (ist|wird) nicht mehr (aktiv|gelesen|genutzt)",
    ],
    "out_of_office": [
        r"abwesenheits(notiz|nachricht)",
        r"(im|in) urlaub",
        r"nicht im (buro|haus)",
        r"ausser haus",
        r"(bin|ist) (ab dem|bis zum|bis einschliesslich) .{0,30}(abwesend|nicht erreichbar)",
        r"abwesend",
        r"(elternzeit|mutterschutz|krankheitsbedingt)",
        r"ab dem .{1,30} wieder (im buro|erreichbar|da)",
        r"wieder (im buro|erreichbar)",
    ],
    "replacement_contact": [
        r"wenden sie sich (bitte |in dringenden fallen )?(an|direkt an)",
        r"(kontaktieren|schreiben|erreichen) sie (bitte )?.{0,30}(an|unter)?",
        r"(ubernimmt|hat .{0,20} ubernommen|ist .{0,30} zustandig|zustandig ist)",
        r"ihr(e)? (neuer?|zukunftiger?) (ansprechpartner(in)?|kontakt)",
        r"(ansprechpartner(in)?|nachfolger(in)?) ist",
    ],
    "replacement_new": [
        r"(meine|seine|ihre) neue (e-?mail-?)?adresse",
        r"(mich|ihn|sie) (erreichen sie|ab sofort) (unter|uber)",
        r"erreichen sie mich (kunftig |ab sofort |nun )?(unter|uber)",
        r"(meine|seine|ihre) neue e-?mail",
    ],
    "quote_markers": [
        r"-+ ?(ursprungliche|original) nachricht ?-+",
        r"^von ?: ",
        r"^am .{1,120} schrieb",
        r"^gesendet ?: ",
    ],
    "returned_markers": [
        r"(ursprungliche|original) nachrichtenkopfzeilen",
        r"-+ ?(ursprungliche|original) nachricht ?-+",
    ],
    "stopwords": [
        "der", "die", "das", "und", "sie", "ihre", "ist", "nicht", "mit", "bitte", "an", "wir", "ich", "mehr", "den", "zu",
    ],
}
