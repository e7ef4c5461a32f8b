// A short, readable excerpt of an answer body for a failed probe: an HTML error page is
// reduced to its text (Django's 400 page, nginx's welcome page), anything else to its
// first printable characters.

import type { HttpAnswer } from './http.js';

const MAX = 160;

/** Up to 160 characters of what the body says, quoted; '' for an empty body. Pure. */
export function bodyExcerpt(answer: Pick<HttpAnswer, 'body' | 'headers'>): string {
  const type = String(answer.headers['content-type'] ?? '');
  let text = answer.body.subarray(0, 64 * 1024).toString('utf8');
  if (/html/i.test(type) || /^\s*<(!doctype|html)/i.test(text)) {
    text = text
      .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#(x[0-9a-f]+|\d+);/gi, (_, n: string) =>
        String.fromCodePoint(n[0] === 'x' || n[0] === 'X' ? Number.parseInt(n.slice(1), 16) : Number(n)),
      )
      .replace(/&amp;/g, '&');
  }
  text = text
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return '';
  return JSON.stringify(text.length > MAX ? `${text.slice(0, MAX)}…` : text);
}
