/** Languages the problem titles are written in; English is the default. */
export const PROBLEM_LANGUAGES = ['en', 'de', 'fr', 'es'] as const;
export type ProblemLanguage = (typeof PROBLEM_LANGUAGES)[number];

type Titles = Readonly<Record<ProblemLanguage, string>>;

const BY_CODE: Readonly<Record<string, Titles>> = {
  RAMPART_SECURITY_VALIDATION_FAILED: {
    en: 'Validation failed',
    de: 'Validierung fehlgeschlagen',
    fr: 'Échec de la validation',
    es: 'La validación falló',
  },
  RAMPART_SECURITY_BODY_MALFORMED: {
    en: 'Malformed body',
    de: 'Fehlerhafter Inhalt',
    fr: 'Corps de requête invalide',
    es: 'Cuerpo mal formado',
  },
  RAMPART_SECURITY_PROTOTYPE_POISONING: {
    en: 'Forbidden property',
    de: 'Verbotene Eigenschaft',
    fr: 'Propriété interdite',
    es: 'Propiedad prohibida',
  },
  RAMPART_SECURITY_BODY_TEXT_INVALID: {
    en: 'Invalid text in body',
    de: 'Ungültiger Text im Inhalt',
    fr: 'Texte invalide dans le corps',
    es: 'Texto no válido en el cuerpo',
  },
  RAMPART_SECURITY_BODY_TOO_DEEP: {
    en: 'Body nested too deeply',
    de: 'Inhalt zu tief verschachtelt',
    fr: 'Corps de requête trop imbriqué',
    es: 'Cuerpo anidado en exceso',
  },
  RAMPART_SECURITY_BODY_NUMBER_INVALID: {
    en: 'Number out of range',
    de: 'Zahl außerhalb des Bereichs',
    fr: 'Nombre hors limites',
    es: 'Número fuera de rango',
  },
  RAMPART_SECURITY_BODY_TOO_LARGE: {
    en: 'Payload too large',
    de: 'Inhalt zu groß',
    fr: 'Contenu trop volumineux',
    es: 'Contenido demasiado grande',
  },
  RAMPART_SECURITY_MEDIA_TYPE_UNSUPPORTED: {
    en: 'Unsupported media type',
    de: 'Nicht unterstützter Medientyp',
    fr: 'Type de média non pris en charge',
    es: 'Tipo de medio no admitido',
  },
  RAMPART_SECURITY_CONTENT_ENCODING_UNSUPPORTED: {
    en: 'Unsupported content encoding',
    de: 'Nicht unterstützte Inhaltskodierung',
    fr: 'Encodage de contenu non pris en charge',
    es: 'Codificación de contenido no admitida',
  },
  RAMPART_SECURITY_REQUEST_TIMEOUT: {
    en: 'Request timeout',
    de: 'Zeitüberschreitung der Anfrage',
    fr: 'Délai de requête dépassé',
    es: 'Tiempo de espera de la solicitud agotado',
  },
  RAMPART_SECURITY_HEADERS_TOO_LARGE: {
    en: 'Request headers too large',
    de: 'Anfrage-Header zu groß',
    fr: 'En-têtes de requête trop volumineux',
    es: 'Encabezados de solicitud demasiado grandes',
  },
  RAMPART_SECURITY_EXPECTATION_FAILED: {
    en: 'Expectation failed',
    de: 'Erwartung nicht erfüllt',
    fr: 'Attente non satisfaite',
    es: 'Expectativa fallida',
  },
  RAMPART_SECURITY_HOST_MISSING: {
    en: 'Host header missing',
    de: 'Host-Header fehlt',
    fr: 'En-tête Host manquant',
    es: 'Falta el encabezado Host',
  },
  RAMPART_SECURITY_HOST_DUPLICATED: {
    en: 'Host header repeated',
    de: 'Host-Header mehrfach angegeben',
    fr: 'En-tête Host répété',
    es: 'Encabezado Host repetido',
  },
  RAMPART_SECURITY_NOT_FOUND: {
    en: 'Not found',
    de: 'Nicht gefunden',
    fr: 'Introuvable',
    es: 'No encontrado',
  },
  RAMPART_SECURITY_METHOD_NOT_ALLOWED: {
    en: 'Method not allowed',
    de: 'Methode nicht erlaubt',
    fr: 'Méthode non autorisée',
    es: 'Método no permitido',
  },
  RAMPART_SECURITY_AUTH_REQUIRED: {
    en: 'Authentication required',
    de: 'Authentifizierung erforderlich',
    fr: 'Authentification requise',
    es: 'Autenticación requerida',
  },
  RAMPART_SECURITY_KEY_INVALID: {
    en: 'Invalid API key',
    de: 'Ungültiger API-Schlüssel',
    fr: "Clé d'API invalide",
    es: 'Clave de API no válida',
  },
  RAMPART_SECURITY_KEY_IN_QUERY: {
    en: 'API key in query string',
    de: 'API-Schlüssel in der URL',
    fr: "Clé d'API dans l'URL",
    es: 'Clave de API en la URL',
  },
  RAMPART_SECURITY_SCOPE_MISSING: {
    en: 'Insufficient scope',
    de: 'Unzureichende Berechtigung',
    fr: 'Portée insuffisante',
    es: 'Alcance insuficiente',
  },
  RAMPART_SECURITY_RATE_LIMITED: {
    en: 'Too many requests',
    de: 'Zu viele Anfragen',
    fr: 'Trop de requêtes',
    es: 'Demasiadas solicitudes',
  },
  RAMPART_SECURITY_AUTH_RATE_LIMITED: {
    en: 'Too many failed authentications',
    de: 'Zu viele fehlgeschlagene Anmeldungen',
    fr: "Trop d'échecs d'authentification",
    es: 'Demasiadas autenticaciones fallidas',
  },
  RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE: {
    en: 'Service unavailable',
    de: 'Dienst nicht verfügbar',
    fr: 'Service indisponible',
    es: 'Servicio no disponible',
  },
  RAMPART_SECURITY_INTERNAL: {
    en: 'Internal server error',
    de: 'Interner Serverfehler',
    fr: 'Erreur interne du serveur',
    es: 'Error interno del servidor',
  },
};

// For errors whose code has no entry above (another package's, or a framework 4xx).
const BY_STATUS: Readonly<Record<number, Titles>> = {
  401: BY_CODE.RAMPART_SECURITY_AUTH_REQUIRED!,
  403: {
    en: 'Forbidden',
    de: 'Verboten',
    fr: 'Interdit',
    es: 'Prohibido',
  },
  404: BY_CODE.RAMPART_SECURITY_NOT_FOUND!,
  405: BY_CODE.RAMPART_SECURITY_METHOD_NOT_ALLOWED!,
  409: { en: 'Conflict', de: 'Konflikt', fr: 'Conflit', es: 'Conflicto' },
  502: {
    en: 'Bad gateway',
    de: 'Fehlerhaftes Gateway',
    fr: 'Mauvaise passerelle',
    es: 'Puerta de enlace incorrecta',
  },
  503: BY_CODE.RAMPART_SECURITY_RATE_LIMIT_UNAVAILABLE!,
  504: {
    en: 'Gateway timeout',
    de: 'Gateway-Zeitüberschreitung',
    fr: 'Délai de passerelle dépassé',
    es: 'Tiempo de espera de la puerta de enlace agotado',
  },
};

const BAD_REQUEST: Titles = {
  en: 'Bad request',
  de: 'Ungültige Anfrage',
  fr: 'Requête invalide',
  es: 'Solicitud incorrecta',
};

/** The title for a code (or, failing that, a status) in the given language. */
export function problemTitle(code: string, status: number, language: ProblemLanguage): string {
  // Own properties only: a code such as `toString` or `__proto__` must not find Object.prototype's members.
  const titles =
    (Object.hasOwn(BY_CODE, code) ? BY_CODE[code] : undefined) ??
    (Object.hasOwn(BY_STATUS, status) ? BY_STATUS[status] : undefined) ??
    (status >= 500 ? BY_CODE.RAMPART_SECURITY_INTERNAL! : BAD_REQUEST);
  return titles[language];
}

const SUPPORTED: ReadonlySet<string> = new Set(PROBLEM_LANGUAGES);

/**
 * Picks the best supported language from an Accept-Language header (RFC 9110 §12.5.4: q-values, primary
 * subtag match); English when nothing matches or the header is missing or malformed.
 */
export function negotiateLanguage(header: string | undefined): ProblemLanguage {
  if (!header || header.length > 512) return 'en';
  let best: ProblemLanguage = 'en';
  let bestQ = 0;
  for (const part of header.split(',', 20)) {
    const [tag = '', ...params] = part.trim().split(';');
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(param);
      if (match) q = Number(match[1]);
    }
    const primary = tag.trim().toLowerCase().split('-', 1)[0] ?? '';
    if (q > bestQ && SUPPORTED.has(primary)) {
      best = primary as ProblemLanguage;
      bestQ = q;
    }
  }
  return best;
}
