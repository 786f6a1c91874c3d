// URLs as they are shown — in errors, `--json` output and log records — never
// carry secrets: a query string's values (`?token=…`, a presigned URL's
// signature) and userinfo (`user:pass@`) are replaced. Requests still use the
// full URL; only what people and logs see is redacted.

/** Placeholder for a redacted value. */
export const REDACTED = 'REDACTED';

/** `s` with the values of its query string and its password replaced; anything not URL-like is returned as is. */
export function redactUrl(s: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/s.exec(s);
  if (!m) return s;
  const [, scheme, authority, path, query, fragment] = m;
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : `${authority.slice(0, at).split(':')[0]}:${REDACTED}@${authority.slice(at + 1)}`;
  return scheme + host + path + (query === undefined ? '' : redactQuery(query)) + (fragment ?? '');
}

/** `?a=1&token=xyz` → `?a=REDACTED&token=REDACTED`: names stay (they say what was sent), values go. */
export function redactQuery(query: string): string {
  if (query === '' || query === '?') return query;
  return '?' + query.slice(1).split('&').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? (p === '' ? p : REDACTED) : `${p.slice(0, i)}=${REDACTED}`;
  }).join('&');
}
