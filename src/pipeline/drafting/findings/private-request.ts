import type { FindingInput, Writer } from './shared.ts';

/**
 * An end user asking for the merchant's own, account-private facts: its plan or prices, billing,
 * staff and their contacts, revenue, other customers, internal notes. Such a question gets a
 * polite refusal (the end-user context holds none of it anyway), and the rest of the ticket is
 * answered as usual.
 */
const PRIVATE: RegExp[] = [
  /\b(other|another|all (?:the|your)) (customers?|shoppers?|clients?|users?|members?|buyers?)\b/i,
  /\b(staff|employees?|team members?|owners?|managers?|admins?|administrators?)\b[^.?!]{0,40}\b(e-?mail|phone|number|names?|contacts?|address)\b/i,
  /\b(e-?mail|phone|number|names?|contacts?)\b[^.?!]{0,30}\b(of|for) (the|your) (?:(?:store|shop|company|business) )?(owner|manager|admin|staff|employees?|boss)\b/i,
  /\b(revenue|turnover|sales (?:figures|numbers|volume)|profit|internal notes?)\b/i,
  /\b(which|what) (plan|tier|subscription|package)\b[^.?!]{0,40}\b(you|they|the (?:store|shop|company|business|brand|merchant)|(?:store|shop|company|business|merchant)) (is|are|on|use|uses|pay|pays|have|has)\b/i,
  /\bhow much (?:do|does) (?:you|they|the (?:store|shop|company|business|merchant)) pay\b/i,
  /\b(your|the (?:store|shop|company|business|merchant)'?s?) (plan|billing|invoices?|subscription with|contract with|pricing with)\b/i,
  // de, es, fr, pt
  /\b(andere[nr]? kunden|mitarbeiter\w*|umsatz|welchen tarif|interne notiz\w*)\b/i,
  /\b(otros clientes|empleados|facturaci[óo]n de la tienda|ingresos|qu[ée] plan tiene|notas internas)\b/i,
  /\b(autres clients|employ[ée]s|chiffre d'affaires|quelle offre|notes internes)\b/i,
  /\b(outros clientes|funcion[áa]rios|faturamento da loja|receita|qual plano|notas internas)\b/i,
];

export function asksPrivateFacts(text: string, brand: string | null): boolean {
  if (PRIVATE.some((re) => re.test(text))) return true;
  if (!brand) return false;
  const b = brand.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `${b}(?:'s)?\\s+(plan|billing|invoices?|revenue|staff|employees|owner|subscription)`,
    'i',
  ).test(text);
}

export function privateRequest(w: Writer, f: FindingInput): boolean {
  if (f.input.context.level !== 'end_user') return false;
  if (!asksPrivateFacts(f.ticketText, f.input.ticket.brand)) return false;
  w.findings++;
  w.say(f.p.privateRefusal(f.input.ticket.brand));
  return true;
}
