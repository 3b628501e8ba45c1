"""Spanish phrases (regular-expression fragments) the mailbox signal extractor looks for.

Normalised text: case-folded, accents removed ("direccion" matches "dirección"), whitespace collapsed.
"""

PHRASES: dict[str, list[str]] = {
    "bounce_subject": [
        r"no se (puede|pudo) entregar",
        r"mensaje no entregado",
        r"(error|fallo) (en la|de) entrega",
        r"entrega (retrasada|demorada|fallida)",
        r"correo (devuelto|no entregado)",
        r"no entregable",
    ],
    "bounce_body": [
        r"no se (puede|pudo|ha podido) entregar",
        r"mensaje no entregado",
        r"error (al entregar|en la entrega)",
        r"(no se pudo|no pudo) (entregar|enviar) (el|su|tu) mensaje",
        r"(su|tu) mensaje (a .{1,120} )?no (se )?(pudo|ha podido|fue) (entregar|entregado)",
        r"la entrega (a estos destinatarios o grupos )?(ha fallado|fallo|no se pudo)",
        r"no (fue|ha sido) entregado",
        r"direccion no encontrada",
        r"el servidor remoto (ha )?devolvio",
        r"entrega (retrasada|demorada)",
        r"(aun|todavia) no se ha entregado",
    ],
    "delay": [
        r"entrega (retrasada|demorada)",
        r"(aun|todavia) no se ha (podido )?entregado",
        r"seguira intentando",
        r"(volvera|se volvera) a intentar",
        r"no es necesario que (haga|realice) (nada|ninguna accion)",
    ],
    "soft": [
        r"buzon (de correo )?(del destinatario )?(esta )?(lleno|completo)",
        r"cuota (excedida|superada)",
        r"(excede|supera) (la|su) cuota",
        r"temporalmente (no disponible|rechazado)",
        r"error temporal",
    ],
    "hard": [
        r"(destinatario|usuario|direccion|buzon) (desconocido|desconocida|no existe|inexistente|no encontrad[oa])",
        r"no existe",
        r"cuenta (desactivada|deshabilitada|eliminada)",
        r"direccion (de correo )?(no valida|invalida)",
    ],
    "bounce_not_recipient": [
        r"(contacte|contacta|pongase en contacto|escriba) (con )?(a )?(su |el |al )?(administrador|administradora|soporte|servicio tecnico|departamento de ti|postmaster)",
        r"(administrador|soporte) (en|a)",
        r"para (mas )?(ayuda|asistencia)",
    ],
    "autoreply_subject": [
        r"^respuesta automatica",
        r"^(mensaje )?automatico",
        r"fuera de la oficina",
        r"^ausente",
        r"^ausencia",
    ],
    "departure": [
        r"ya no (trabaja|trabajo) (en|para|con)",
        r"ya no (forma|formo) parte",
        r"(ha|he) dejado (la|nuestra) (empresa|compania|organizacion|firma)",
        r"(ha|he) dejado de (trabajar|colaborar|prestar servicios)",
        r"ya no (esta|estoy) (en|con) (la|nuestra) (empresa|compania|organizacion)",
        r"ya no pertenece",
        r"ha dejado su (puesto|cargo)",
        r"ya no presta (sus )?servicios",
        r"(causo|ha causado) baja",
        r"ya no (es|soy) (empleado|empleada|parte)",
        r"(dejo|deje) la (empresa|compania)",
        r"esta (direccion|cuenta|buzon)( de correo)? ya no (esta activa|se consulta|esta en uso)",
    ],
    "out_of_office": [
        r"fuera de (la )?oficina",
        r"de vacaciones",
        r"(estoy|estare|estara) (ausente|fuera)",
        r"(baja|permiso) (por )?(maternidad|paternidad|medica|enfermedad)",
        r"(volvere|regresare|estare de vuelta|de regreso)",
        r"acceso limitado (a|al) (mi )?correo",
    ],
    "replacement_contact": [
        r"(por favor,? )?(pongase|ponte|puede ponerse) en contacto con",
        r"(contacte|contacta|escriba a|escribe a|dirijase a|dirigase a|puede escribir a|puede contactar( a| con)?)",
        r"(se encarga|se hara cargo|ha asumido|asumira|sustituye|reemplaza)",
        r"su (nuevo|nueva) (contacto|interlocutor|interlocutora)",
    ],
    "replacement_new": [
        r"(mi|su) nueva (direccion|cuenta)",
        r"(mi|su) nuevo (correo|e-?mail)",
        r"(contactarme|escribirme|localizarme) en",
    ],
    "quote_markers": [
        r"-+ ?mensaje original ?-+",
        r"^de ?: ",
        r"^el .{1,120} escribio ?:",
        r"^enviado ?: ",
    ],
    "returned_markers": [
        r"encabezados del mensaje original",
        r"-+ ?mensaje original ?-+",
    ],
    "stopwords": [
        "el", "la", "los", "las", "de", "y", "que", "su", "es", "para", "por", "no", "con", "en", "una", "mensaje",
    ],
}
